using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Options;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Signed login for returning users: a one-time server nonce, signed with the key registered by the ticket.
/// <para>
/// Challenges are stateless: the nonce is <c>b64v(version ‖ 16 random bytes ‖ expiry ‖ HMAC-SHA256)</c>, the HMAC over
/// the random bytes, the expiry and the user name under the site's <c>login_challenge</c> secret
/// (<c>mychips.site_secrets</c>, shared by all instances). Issuing one never looks the user up and writes nothing, so
/// a known and an unknown user take exactly the same steps (and an unauthenticated caller cannot fill a table).
/// The answer checks the HMAC and the expiry first, then the signature, and only then records the nonce as used
/// (a <c>challenge</c> row in <c>mychips.tokens</c> until it expires), so each nonce logs in once. The signature
/// check does one verification on the curve the signature's length implies, with a stand-in key when the user is
/// unknown or has a key of the other curve, so the answer does not tell who has an account either.
/// Expiry is by the issuing instance's clock (instances' clocks should agree within seconds).
/// </para>
/// </summary>
public sealed class LoginChallenges(SiteTransactions transactions, SiteAgents agents, Sessions sessions, IOptions<DomainOptions> options)
{
    private const byte Version = 1;
    private const int SaltSize = 16;
    private const int MacSize = 32;
    private const int NonceSize = 1 + SaltSize + 8 + MacSize;
    private static readonly byte[] MacLabel = "mychips login challenge v1\0"u8.ToArray();

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _standInP256 = StandInJwk(UserKeyCurve.P256);
    private readonly string _standInP521 = StandInJwk(UserKeyCurve.P521);
    private byte[]? _secret;

    /// <summary>
    /// Issues a challenge. For an unknown user a nonce is returned all the same (and never accepted), made the same
    /// way: the user is not looked up at all.
    /// </summary>
    public async Task<LoginChallenge> IssueAsync(string cuid, CancellationToken cancellationToken)
    {
        var secret = await SecretAsync(cancellationToken).ConfigureAwait(false);
        var expires = TruncateToMicroseconds(DateTimeOffset.UtcNow + options.Value.ChallengeLifetime);
        var nonce = new byte[NonceSize];
        nonce[0] = Version;
        RandomNumberGenerator.Fill(nonce.AsSpan(1, SaltSize));
        BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(1 + SaltSize, 8), ToMicroseconds(expires));
        Mac(secret, nonce.AsSpan(0, 1 + SaltSize + 8), cuid, nonce.AsSpan(1 + SaltSize + 8));
        return new LoginChallenge(cuid, Base64Url.Encode(nonce), expires);
    }

    /// <summary>Checks the nonce and the signature over <see cref="LoginChallenge.SignedBytes"/>, consumes the nonce, opens a session.</summary>
    public async Task<SessionToken> CompleteAsync(string cuid, string nonce, string signature, CancellationToken cancellationToken)
    {
        var secret = await SecretAsync(cancellationToken).ConfigureAwait(false);
        var expires = Open(secret, cuid, nonce) ?? throw DomainErrors.Unauthorized("The challenge is unknown, used or expired.");
        if (!Base64Url.TryDecode(signature, out var sig))
            throw DomainErrors.Unauthorized("The login signature is not base64url.");
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<(long UserId, string SignPub, bool Disabled)>(new CommandDefinition(
                "SELECT user_id, sign_pub::text, disabled_at IS NOT NULL FROM mychips.users WHERE cuid = @cuid AND agent = @agent AND sign_pub IS NOT NULL",
                new { cuid, agent = agent.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (!Verify(row.UserId == 0 ? null : row.SignPub, LoginChallenge.SignedBytes(cuid, nonce), sig))
                throw DomainErrors.Unauthorized("The login signature does not verify.");
            // Told only to the key's holder (after the signature verified), so the answer reveals nothing to others.
            if (row.Disabled)
                throw DomainErrors.UserDisabled();
            // Used once: the row stays until the nonce would have expired; the user's expired ones go now.
            var recorded = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                DELETE FROM mychips.tokens WHERE user_id = @user AND purpose = 'challenge' AND expires_at < now();
                INSERT INTO mychips.tokens (user_id, purpose, token_hash, expires_at, used_at) VALUES (@user, 'challenge', @hash, @expires, now())
                ON CONFLICT (token_hash) DO NOTHING RETURNING token_id
                """, new { user = row.UserId, hash = SecretToken.Hash(nonce), expires }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (recorded is null)
                throw DomainErrors.Unauthorized("The challenge is unknown, used or expired.");
            return await sessions.CreateAsync(connection, transaction, row.UserId, cuid, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The expiry of a nonce this site issued for <paramref name="cuid"/> that has not expired; null otherwise.</summary>
    private static DateTimeOffset? Open(byte[] secret, string cuid, string nonce)
    {
        if (nonce.Length > 2 * NonceSize || !Base64Url.TryDecode(nonce, out var bytes) || bytes.Length != NonceSize || bytes[0] != Version)
            return null;
        Span<byte> expected = stackalloc byte[MacSize];
        Mac(secret, bytes.AsSpan(0, 1 + SaltSize + 8), cuid, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes.AsSpan(1 + SaltSize + 8)))
            return null;
        var micros = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1 + SaltSize, 8));
        var expires = DateTimeOffset.UnixEpoch.AddTicks(micros * (TimeSpan.TicksPerMillisecond / 1000));
        return expires > DateTimeOffset.UtcNow ? expires : null;
    }

    private static void Mac(byte[] secret, ReadOnlySpan<byte> head, string cuid, Span<byte> destination)
    {
        var user = Encoding.UTF8.GetBytes(cuid);
        var data = new byte[MacLabel.Length + head.Length + user.Length];
        MacLabel.CopyTo(data, 0);
        head.CopyTo(data.AsSpan(MacLabel.Length));
        user.CopyTo(data, MacLabel.Length + head.Length);
        HMACSHA256.HashData(secret, data, destination);
    }

    /// <summary>
    /// One full verification whose curve follows from the signature's length alone: the user's key when it is of that
    /// curve, a stand-in otherwise (unknown user, other curve), so the work does not depend on who the user is.
    /// </summary>
    private bool Verify(string? userJwk, byte[] data, byte[] signature)
    {
        var curve = signature.Length == 2 * UserKeyCurve.P521.FieldSize() ? UserKeyCurve.P521 : UserKeyCurve.P256;
        // Both paths parse and import two keys and verify once.
        using var user = UserPublicKey.FromJwk(JsonNode.Parse(userJwk ?? _standInP256)!);
        using var standIn = UserPublicKey.FromJwk(JsonNode.Parse(curve == UserKeyCurve.P521 ? _standInP521 : _standInP256)!);
        var mine = userJwk is not null && user.Curve == curve;
        var verified = (mine ? user : standIn).Verify(data, signature);
        return mine && verified;
    }

    private async Task<byte[]> SecretAsync(CancellationToken cancellationToken)
    {
        if (_secret is { } known)
            return known;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Concurrent first uses on several instances agree through the primary key: the first insert wins.
            return _secret ??= await transactions.RunAsync((connection, transaction) => connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(
                """
                INSERT INTO mychips.site_secrets (name, secret) VALUES ('login_challenge', @secret) ON CONFLICT (name) DO NOTHING;
                SELECT secret FROM mychips.site_secrets WHERE name = 'login_challenge';
                """, new { secret = RandomNumberGenerator.GetBytes(32) }, transaction, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The login challenge secret could not be read.");
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string StandInJwk(UserKeyCurve curve)
    {
        using var key = UserSigningKey.Generate(curve);
        return key.ExportPublicJwk().ToJsonString();
    }

    private static long ToMicroseconds(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (TimeSpan.TicksPerMillisecond / 1000);

    private static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % (TimeSpan.TicksPerMillisecond / 1000)), TimeSpan.Zero);
}
