"""What crates/server/openapi.json says that a JSON Schema cannot, taught to
the schema fuzzer (SECURITY.md S55): loaded by .ci/run through
SCHEMATHESIS_HOOKS.

- The formats `serial`, `activation-code` and `reset-code` are digits whose
  last one is a Luhn check digit (the document says so; a pattern cannot):
  the fuzzer makes valid ones, so a schema-valid request has a right check
  digit and a refusal of it is a finding.
- A resync's two codes must be the HOTP token's next ones, which only its
  seed knows: the server's refusal of two others is not a finding.
- A new password may not contain the user name (S24): a rule between two
  fields, which a schema cannot state, so the server's refusal of a body
  that does break it (its 400 with that rule's message) is not a finding.
"""

import schemathesis
from hypothesis import strategies as st


def _luhn_digit(payload: str) -> str:
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def _luhn_code(length: int) -> st.SearchStrategy[str]:
    payload = st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1)
    return payload.map(lambda digits: digits + _luhn_digit(digits))


schemathesis.openapi.format("serial", _luhn_code(10))
schemathesis.openapi.format("activation-code", _luhn_code(16))
schemathesis.openapi.format("reset-code", _luhn_code(12))


def _error(response):
    try:
        body = response.json()
    except Exception:
        return None
    return body.get("error") if isinstance(body, dict) else None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure but two: POST /api/v1/users refusing a password
    that does contain the user name (checked here, on the request itself),
    and a resync refusing two codes that are not the token's next ones (its
    seed is secret: no schema can say which codes those are), each with
    the server's message for exactly that rule."""
    operation = (case.operation.method.upper(), case.operation.path)
    if response.status_code != 400 or not isinstance(case.body, dict):
        return True
    if operation == ("POST", "/api/v1/tokens/{serial}/resync"):
        said = _error(response) or ""
        return not said.startswith("those two codes are not consecutive codes of token ")
    if operation != ("POST", "/api/v1/users"):
        return True
    username, password = case.body.get("username"), case.body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return True
    name = username.strip().lower()
    contains_name = bool(name) and name in password.lower()
    return not (contains_name and _error(response) == "a password may not contain the user name")
