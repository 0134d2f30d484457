-- wrk script: the complexity bench's architecture ask (classified COMPLEX), one chat completion per request.
-- MODEL and KEY come from the environment, as in ../shared/bench/chat.lua.
local model = os.getenv("MODEL") or "smart-router"
local key = os.getenv("KEY") or "sk-bench-master"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"We are splitting our Django monolith into microservices. First, propose the service boundaries; then design the Kafka event flow between the order, payment and inventory services, and explain how you keep data consistent."}]}'
