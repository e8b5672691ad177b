-- wrk script: POST the AdmissionReview in $BODY (a file) with Content-Type application/json.
local path = os.getenv("BODY")
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
