"""The built-in keyword lists, and the word forms a keyword also matches.

Single words are listed in their base form; :func:`word_forms` adds the inflections at start-up
(``microservice`` also matches ``microservices``, ``refactor`` matches ``refactoring``), so the
request path is one set intersection.  Phrases (with a space) and non-Latin keywords (CJK) are
matched as substrings.  A few lists include French, Spanish, German, Portuguese, Chinese and
Japanese words so that multilingual prompts are not all scored as empty.
"""

from __future__ import annotations

CODE = [
    "function", "class", "method", "def", "import", "api", "sql", "query", "docker", "kubernetes",
    "refactor", "python", "javascript", "typescript", "java", "rust", "golang", "c++", "c#", "bug",
    "debug", "compile", "compiler", "regex", "json", "yaml", "endpoint", "code", "script", "library",
    "module", "package", "variable", "loop", "recursion", "algorithm", "unittest", "pytest", "test",
    "repository", "git", "commit", "deploy", "stack", "trace", "exception", "async", "await", "thread",
    "lambda", "struct", "interface", "implement", "snippet", "program", "programming", "frontend",
    "backend", "react", "django", "flask", "fastapi", "node", "npm", "pip", "bash", "shell", "html",
    "css", "dataframe", "pandas", "numpy", "return", "parameter", "argument", "integer", "string",
    "array", "list", "dict", "dictionary", "hashmap", "linter", "type", "schema", "migration",
    "funcion", "función", "código", "codigo", "fonction", "programme", "funktion", "skript",
    "函数", "代码", "程序", "関数", "コード", "プログラム",
]

REASONING = [
    "step by step", "think through", "let's think", "think carefully", "reason about", "reasoning",
    "analyze this", "break down", "pros and cons", "compare and contrast", "trade-offs", "tradeoffs",
    "deduce", "infer", "prove", "proof", "justify", "derive", "derivation", "rigorous", "rigorously",
    "show that", "explain why", "why does", "logically", "logic puzzle", "puzzle", "riddle",
    "counterexample", "contradiction", "by induction", "first principles", "chain of thought",
    "walk me through", "work out", "work through", "deduction", "verify", "show your reasoning",
    "explain the reasoning", "reason it out", "is it possible", "prove your answer", "prove it", "why not",
    "how do you find", "strategy", "optimal", "cannot be done", "backward induction", "if and only if",
    "determine whether", "estimate", "assumption", "explain how you", "paso a paso", "étape par étape", "schritt für schritt",
    "passo a passo", "demuestra", "démontre", "démontrer", "beweise", "prouve", "razona",
    "一步一步", "逐步", "证明", "推理", "ステップ", "証明", "推論",
]

TECHNICAL = [
    "architecture", "distributed", "scalable", "scalability", "microservice", "encryption", "latency",
    "throughput", "concurrency", "gpu", "protocol", "grpc", "kafka", "database", "sharding", "replication",
    "consensus", "raft", "paxos", "cache", "caching", "load balancer", "queue", "event-driven", "cluster",
    "failover", "availability", "consistency", "partition", "idempotent", "idempotency", "observability",
    "telemetry", "authentication", "authorization", "oauth", "security", "vulnerability", "threat model",
    "performance", "optimize", "benchmark", "memory leak", "race condition", "deadlock", "transaction",
    "index", "schema design", "data pipeline", "etl", "streaming", "infrastructure", "terraform",
    "ci/cd", "pipeline", "multi-tenant", "rate limiting", "backpressure", "serialization", "compliance",
    "migration plan", "system design", "design a system", "end-to-end", "production", "monolith",
    "rollback", "zero-downtime", "design", "architect", "scale", "scaling", "region", "multi-region",
    "active-active", "leader election", "at-least-once", "exactly-once", "dead-letter", "sdk", "rollout",
    "audit", "key management", "scheduler", "worker", "backend", "data model", "hot keys", "cdn",
    "invalidation", "thundering herd", "ocr", "erp", "network partition", "consistency model", "microservices",
    "kubernetes", "service boundaries", "vpc", "eks", "operator", "reconcile", "websocket", "profiling",
    "memory", "vulnerabilities", "idempotency key", "tenant", "ingestion", "query layer", "isolation",
    "conflict resolution", "crdt", "persistence", "offline", "dual writes", "backfill", "write path",
    "contention", "matching", "payments", "failure modes", "sampling", "alerting", "runbooks", "on-call",
    "dependency injection", "middleware", "integration tests", "query language", "parser", "partitioned",
    "redlines", "liability", "compliance", "gdpr", "reconcile the figures", "executive briefing", "horizontal scaling", "postgres", "postgresql", "redis", "elasticsearch",
    "arquitectura", "architektur", "arquitetura", "microservicios", "microsserviços", "escalable", "escalar",
    "consistencia", "skalierbar", "skalierbare", "ausfallsicherheit", "partitionierung", "distribuée",
    "réplication", "latence", "tolérance aux pannes", "sécurité", "seguridad", "segurança", "vulnerabilidades",
    "分布式", "架构", "一致性", "分片", "故障转移", "缓存", "アーキテクチャ", "分散", "マイクロサービス", "冪等性",
    "トランザクション",
]

SIMPLE = [
    "what is", "what's", "who is", "who was", "define", "definition of", "how many", "when was",
    "when did", "where is", "capital of", "hello", "hi", "hey", "thanks", "thank you", "good morning",
    "good night", "how are you", "quick question", "quickly", "translate", "spell", "synonym",
    "antonym", "meaning of", "what time", "convert", "joke", "bonjour", "hola", "hallo", "merci",
    "gracias", "danke", "obrigado", "qué es", "qu'est-ce", "was ist", "o que é", "你好", "谢谢",
    "什么是", "こんにちは", "ありがとう", "とは",
]

#: instruction verbs: a prompt that asks for work to be done is at least MEDIUM
TASK = [
    "write", "explain", "describe", "summarise", "summarize", "draft", "create", "outline", "rewrite",
    "implement", "build", "fix", "review", "compare", "analyse", "analyze", "design", "plan", "propose",
    "refactor", "debug", "difference between", "differences between", "how does", "how do i", "how can i",
    "calculate", "solve", "compute", "escribe", "explica", "écris", "explique", "erkläre", "schreibe",
    "resume", "traduis", "diseña", "entwirf", "propose", "revise", "写", "解释", "设计", "書いて", "説明",
]

MATH = [
    "integral", "derivative", "differentiate", "integrate", "equation", "theorem", "lemma", "probability",
    "expected value", "variance", "polynomial", "matrix", "eigenvalue", "eigenvector", "converge",
    "convergence", "series", "prime", "primes", "modulo", "modular", "combinatorics", "permutation",
    "combination", "geometry", "triangle", "inequality", "limit", "calculus", "algebra", "optimization",
    "minimize", "maximize", "logarithm", "exponential", "factorial", "fibonacci", "recurrence",
    "irrational", "divisible", "gcd", "lcm", "vector", "dimension", "topology", "bayes", "bayesian",
    "stochastic", "markov", "sequence", "sum of", "digits", "how many ways", "expected number", "angle",
    "graph", "cycle", "bound", "irrational", "induction", "closed form", "critical points", "ecuación", "équation", "gleichung",
    "probabilidad", "probabilité", "wahrscheinlichkeit", "方程", "概率", "積分", "確率", "方程式",
]


def word_forms(word: str) -> set[str]:
    """A keyword and its common English inflections (stemming in reverse, done once at start-up)."""
    forms = {word}
    if not word.isascii() or not word.isalpha() or len(word) < 3:
        return forms
    forms |= {word + "s", word + "es", word + "ed", word + "ing"}
    if word.endswith("e"):
        stem = word[:-1]
        forms |= {word + "d", stem + "ing", stem + "ion", stem + "ions", stem + "ation", stem + "ations"}
    if word.endswith("y") and word[-2] not in "aeiou":
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if word.endswith("ize"):
        forms |= {f[: len(word) - 3] + "ise" + f[len(word):] for f in list(forms) if f.startswith(word)}
        forms |= {word[:-3] + "isation", word[:-3] + "ization"}
    if len(word) >= 3 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {word + word[-1] + "ing", word + word[-1] + "ed"}  # debug -> debugging
    return forms
