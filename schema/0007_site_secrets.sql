-- mode: expand
-- Secrets every instance of a site shares, created by the code on first use (random bytes from .NET's CSPRNG).
-- 'login_challenge' keys the HMAC of stateless login challenges: issuing one writes nothing and takes the same steps
-- whether or not the user exists (MyChips.Data/Domain/LoginChallenges.cs). Never logged, never sent.

CREATE TABLE mychips.site_secrets (
    name       text        PRIMARY KEY,
    secret     bytea       NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
