"""The service API's language, shared by the HTTP face (gate.server) and the durable gates'
worker (gate.worker): the request bodies, parsed and validated against the OpenAPI document
(`body`, `request_schema`), what a request may cost (`bounds`), the answer document
(`answer`), the error every route speaks (`errors`) and the flag that stops CPU work on time
(`stopping`). It imports no face, no worker and no store (.importlinter keeps it so).
"""
