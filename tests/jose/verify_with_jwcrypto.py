#!/usr/bin/env python3
"""Verify a cpe-ledger access token with an independent JOSE implementation (jwcrypto).

Usage: verify_with_jwcrypto.py JWKS_URL TOKEN ISSUER AUDIENCE

Uses nothing but the published key set: fetches JWKS_URL, picks the key by the token's `kid`,
checks the EdDSA signature, `iss`, `aud` and `exp`, and prints the claims as JSON.
Exit codes: 0 verified, 1 refused, 3 jwcrypto is not installed.
"""

import json
import sys
import time
import urllib.request

try:
    from jwcrypto import jwk, jwt
except ImportError:
    print("jwcrypto is not installed", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    jwks_url, token, issuer, audience = sys.argv[1:5]
    with urllib.request.urlopen(jwks_url, timeout=10) as response:
        keyset = jwk.JWKSet.from_json(response.read())
    try:
        verified = jwt.JWT(
            jwt=token,
            key=keyset,
            algs=["EdDSA"],
            check_claims={"iss": issuer, "aud": audience, "exp": None},
        )
    except Exception as error:  # jwcrypto raises several unrelated exception types
        print(f"refused: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    claims = json.loads(verified.claims)
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        print("refused: exp missing or past", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
