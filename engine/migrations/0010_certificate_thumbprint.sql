-- Version 10: the SHA-1 thumbprint of an Exchange Online profile's certificate, as Microsoft
-- Entra shows it, so an administrator can match the profile to the app's registered certificate.
-- The certificate and its key stay in the keychain; the thumbprint is public. Empty when the
-- profile signs in with a client secret or has no certificate yet.

ALTER TABLE email_server_profile ADD COLUMN oauth_certificate_thumbprint TEXT NOT NULL DEFAULT '';
