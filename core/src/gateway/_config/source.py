"""Reading the YAML file while remembering where every key stands, for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway._errors import ConfigError

ConfigPath = tuple[str | int, ...]


class SourceMap:
    """Line numbers of keys and list items, by their path from the top of the file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[ConfigPath, int] = {}

    def where(self, path: ConfigPath) -> str:
        """``config.yaml line 12`` for the deepest part of ``path`` that has a known line."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return f"{self.filename} line {line}"
        return self.filename


def format_path(path: ConfigPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _build(node: yaml.Node, path: ConfigPath, source: SourceMap) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path, SourceMap(source.filename))  # keys' own lines are not needed
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            source.lines[child] = key_node.start_mark.line + 1
            if key in result:
                raise ConfigError(
                    f"{source.filename} line {key_node.start_mark.line + 1}: {format_path(child)} is set twice"
                )
            result[key] = _build(value_node, child, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), source) for i, item in enumerate(node.value)]
    # scalars: PyYAML's safe constructor decides the type (int, float, bool, null, str)
    return _scalar_loader.construct_object(node, deep=True)


_scalar_loader = yaml.SafeLoader("")


def load_yaml(text: str, filename: str) -> tuple[dict[str, Any], SourceMap]:
    source = SourceMap(filename)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename} line {mark.line + 1}" if mark else filename
        raise ConfigError(f"{where}: the file is not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        return {}, source
    data = _build(root, (), source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{filename}: the top level must be a mapping of sections (model_list:, general_settings: ...)"
        )
    return data, source


def read_config_file(path: str | Path) -> tuple[dict[str, Any], SourceMap]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {str(path)!r} does not exist; pass an existing file with --config") from exc
    return load_yaml(text, path.name)
