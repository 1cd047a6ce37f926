#!/usr/bin/env python3
"""Verify a cpe-ledger status credential with an independent JOSE implementation (jwcrypto).

Usage: verify_credential_with_jwcrypto.py JWKS_URL CREDENTIAL ISSUER

Uses nothing but the published key set: fetches JWKS_URL, picks the key by the credential's
`kid` (a URL into the issuer's key set, `ISSUER/.well-known/jwks.json#…`), checks the RS256 signature, `iss` and `exp`, checks that the
payload is shaped as a VC 2.0 / Open Badges 3.0 credential whose JWT claims match its
properties, and prints the claims as JSON.
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


def refuse(why: str) -> int:
    print(f"refused: {why}", file=sys.stderr)
    return 1


def main() -> int:
    jwks_url, credential, issuer = sys.argv[1:4]
    with urllib.request.urlopen(jwks_url, timeout=10) as response:
        keyset = jwk.JWKSet.from_json(response.read())
    try:
        verified = jwt.JWT(
            jwt=credential,
            key=keyset,
            algs=["RS256"],
            check_claims={"iss": issuer, "exp": None},
        )
    except Exception as error:  # jwcrypto raises several unrelated exception types
        return refuse(f"{type(error).__name__}: {error}")
    header = json.loads(verified.header)
    if header.get("typ") not in ("vc+jwt", "JWT"):
        return refuse(f"typ {header.get('typ')!r}")
    # The kid names the key by a URL into the issuer's published key set.
    published = issuer.rstrip("/") + "/.well-known/jwks.json#"
    if not str(header.get("kid", "")).startswith(published):
        return refuse(f"kid {header.get('kid')!r} is not a URL into {published}")
    claims = json.loads(verified.claims)
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return refuse("exp missing or past")
    context = claims.get("@context") or []
    if not context or context[0] != "https://www.w3.org/ns/credentials/v2":
        return refuse("not a VC 2.0 credential")
    if "VerifiableCredential" not in claims.get("type", []):
        return refuse("type lacks VerifiableCredential")
    if claims.get("jti") != claims.get("id") or claims.get("iss") != claims.get("issuer", {}).get("id"):
        return refuse("JWT claims differ from the credential's properties")
    if claims.get("sub") != claims.get("credentialSubject", {}).get("id"):
        return refuse("sub differs from credentialSubject.id")
    print(json.dumps(claims, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
