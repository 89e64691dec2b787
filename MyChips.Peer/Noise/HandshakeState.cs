using System.Security.Cryptography;

namespace MyChips.Peer.Noise;

/// <summary>
/// Noise HandshakeState (§5.3): runs one side of a handshake, message by message, into caller buffers.
/// When <see cref="IsCompleted"/>, <see cref="Split"/> yields the <see cref="NoiseTransport"/>.
/// Any failure leaves the state unusable: a Noise handshake cannot be resumed after an error. Not thread-safe.
/// </summary>
public sealed class HandshakeState : IDisposable
{
    /// <summary>Largest Noise message, handshake or transport (§3).</summary>
    public const int MaxMessageLength = 65535;

    private const int DhLength = X25519KeyPair.KeyLength;

    private readonly SymmetricState _symmetric;
    private readonly HandshakePattern _pattern;
    private readonly X25519KeyPair? _s;
    private readonly byte[][] _psks;
    private X25519KeyPair? _e;
    private bool _ownsEphemeral;
    private byte[]? _rs;
    private byte[]? _re;
    private int _messageIndex;
    private int _pskIndex;
    private bool _failed;
    private bool _split;
    private bool _disposed;

    /// <summary>Initialize() (§5.3).</summary>
    /// <param name="protocol">The parsed protocol name; both sides must use the same one.</param>
    /// <param name="role">Initiator or responder.</param>
    /// <param name="prologue">Data both sides must agree on; mixed into h (§6).</param>
    /// <param name="localStatic">Our static key pair, when the pattern sends it or the peer knows it. Not disposed by this object.</param>
    /// <param name="remoteStatic">The peer's static public key, exactly when the pattern has it as a pre-message.</param>
    /// <param name="psks">The 32-byte PSKs, one per psk token in order.</param>
    /// <param name="localEphemeral">A fixed ephemeral key pair, for test vectors only; otherwise one is generated. Not disposed by this object.</param>
    /// <param name="remoteEphemeral">The peer's ephemeral public key, for patterns with an <c>e</c> pre-message.</param>
    public HandshakeState(
        NoiseProtocol protocol,
        NoiseRole role,
        ReadOnlySpan<byte> prologue = default,
        X25519KeyPair? localStatic = null,
        ReadOnlySpan<byte> remoteStatic = default,
        IEnumerable<byte[]>? psks = null,
        X25519KeyPair? localEphemeral = null,
        ReadOnlySpan<byte> remoteEphemeral = default)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        if (!protocol.IsSupported)
        {
            throw new NotSupportedException($"{protocol.Name}: DH function {protocol.Dh} is not implemented.");
        }

        Protocol = protocol;
        Role = role;
        _pattern = protocol.Pattern;
        _s = localStatic;
        _e = localEphemeral;
        _rs = remoteStatic.IsEmpty ? null : CheckPublicKey(remoteStatic, nameof(remoteStatic));
        _re = remoteEphemeral.IsEmpty ? null : CheckPublicKey(remoteEphemeral, nameof(remoteEphemeral));
        _psks = (psks ?? []).Select(p => (byte[])p.Clone()).ToArray();
        Validate();

        _symmetric = new SymmetricState(protocol);
        _symmetric.MixHash(prologue);
        MixPreMessage(_pattern.InitiatorPreMessage, fromInitiator: true);
        MixPreMessage(_pattern.ResponderPreMessage, fromInitiator: false);
    }

    public NoiseProtocol Protocol { get; }

    public NoiseRole Role { get; }

    public bool IsInitiator => Role == NoiseRole.Initiator;

    /// <summary>True once every handshake message has been written or read.</summary>
    public bool IsCompleted => _messageIndex == _pattern.Messages.Length;

    /// <summary>True when the next handshake call must be <see cref="WriteMessage"/>, false when it must be <see cref="ReadMessage"/>.</summary>
    public bool IsWriteTurn => !IsCompleted && _pattern.Messages[_messageIndex].FromInitiator == IsInitiator;

    /// <summary>The peer's static public key: given up front or learnt during the handshake; empty while unknown.</summary>
    public ReadOnlySpan<byte> RemoteStatic => _rs;

    /// <summary>The current handshake hash h (final once <see cref="IsCompleted"/>).</summary>
    public ReadOnlySpan<byte> HandshakeHash
    {
        get
        {
            ThrowIfUnusable();
            return _symmetric.HandshakeHash;
        }
    }

    /// <summary>Total length of the next outgoing message for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public int GetMessageLength(int payloadLength)
    {
        ThrowIfUnusable();
        if (IsCompleted)
        {
            throw new InvalidOperationException("The handshake is complete.");
        }

        return MessageLength(_pattern.Messages[_messageIndex], payloadLength);
    }

    /// <summary>
    /// WriteMessage(payload, message_buffer): writes the next handshake message into <paramref name="message"/>
    /// and returns its length.
    /// </summary>
    public int WriteMessage(ReadOnlySpan<byte> payload, Span<byte> message)
    {
        ThrowIfUnusable();
        if (!IsWriteTurn)
        {
            throw new InvalidOperationException(IsCompleted ? "The handshake is complete." : "It is the peer's turn to send.");
        }

        var pattern = _pattern.Messages[_messageIndex];
        int length = MessageLength(pattern, payload.Length);
        if (length > MaxMessageLength)
        {
            throw new ArgumentException($"The handshake message would be {length} bytes; Noise allows {MaxMessageLength}.", nameof(payload));
        }

        if (message.Length < length)
        {
            throw new ArgumentException($"The message buffer needs {length} bytes.", nameof(message));
        }

        try
        {
            int offset = 0;
            foreach (var token in pattern.Tokens)
            {
                switch (token)
                {
                    case NoiseToken.E:
                        if (_e is null)
                        {
                            _e = X25519KeyPair.Generate();
                            _ownsEphemeral = true;
                        }

                        _e.PublicKey.CopyTo(message[offset..]);
                        MixEphemeral(_e.PublicKey);
                        offset += DhLength;
                        break;
                    case NoiseToken.S:
                        offset += _symmetric.EncryptAndHash(Required(_s, "local static").PublicKey, message[offset..]);
                        break;
                    case NoiseToken.Psk:
                        _symmetric.MixKeyAndHash(_psks[_pskIndex++]);
                        break;
                    default:
                        MixDh(token);
                        break;
                }
            }

            offset += _symmetric.EncryptAndHash(payload, message[offset..]);
            _messageIndex++;
            return offset;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>
    /// ReadMessage(message, payload_buffer): processes the peer's next handshake message, writes its payload
    /// into <paramref name="payload"/> (which must not overlap <paramref name="message"/>) and returns the payload length.
    /// Throws <see cref="NoiseException"/> when the message does not authenticate.
    /// </summary>
    public int ReadMessage(ReadOnlySpan<byte> message, Span<byte> payload)
    {
        ThrowIfUnusable();
        if (IsCompleted || IsWriteTurn)
        {
            throw new InvalidOperationException(IsCompleted ? "The handshake is complete." : "It is our turn to send.");
        }

        if (message.Length > MaxMessageLength)
        {
            _failed = true;
            throw new NoiseException($"The handshake message is {message.Length} bytes; Noise allows {MaxMessageLength}.");
        }

        var pattern = _pattern.Messages[_messageIndex];
        int payloadLength = message.Length - MessageLength(pattern, 0);
        if (payloadLength < 0)
        {
            _failed = true;
            throw new NoiseException("The handshake message is too short for its pattern.");
        }

        if (payload.Length < payloadLength)
        {
            throw new ArgumentException($"The payload buffer needs {payloadLength} bytes.", nameof(payload));
        }

        try
        {
            int offset = 0;
            foreach (var token in pattern.Tokens)
            {
                switch (token)
                {
                    case NoiseToken.E:
                        _re = message.Slice(offset, DhLength).ToArray();
                        MixEphemeral(_re);
                        offset += DhLength;
                        break;
                    case NoiseToken.S:
                        int length = _symmetric.GetCiphertextLength(DhLength);
                        var rs = new byte[DhLength];
                        _symmetric.DecryptAndHash(message.Slice(offset, length), rs);
                        _rs = rs;
                        offset += length;
                        break;
                    case NoiseToken.Psk:
                        _symmetric.MixKeyAndHash(_psks[_pskIndex++]);
                        break;
                    default:
                        MixDh(token);
                        break;
                }
            }

            int written = _symmetric.DecryptAndHash(message[offset..], payload);
            _messageIndex++;
            return written;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>
    /// Split() (§5.2) once the handshake is complete. The handshake's secrets are wiped; the returned
    /// transport owns the cipher states and keeps a copy of the final handshake hash.
    /// </summary>
    public NoiseTransport Split() => SplitCore(referenceSplit: false);

    /// <summary>
    /// Split() as the reference's Noise library (noise-protocol 3.0.2) does it (PROTOCOL §4.3, ref bug T11): the side
    /// that wrote the last handshake message sends with c1 and receives with c2, the other side the reverse. For IK and
    /// KK that swaps the specification's keys. Only for reference peers in <c>NoiseReference</c> compatibility mode;
    /// never between our nodes.
    /// </summary>
    public NoiseTransport SplitLikeReference() => SplitCore(referenceSplit: true);

    private NoiseTransport SplitCore(bool referenceSplit)
    {
        ThrowIfUnusable();
        if (!IsCompleted)
        {
            throw new InvalidOperationException("The handshake is not complete.");
        }

        var (c1, c2) = _symmetric.Split();
        byte[] handshakeHash = _symmetric.HandshakeHash.ToArray();
        _split = true;
        ReleaseSecrets();

        if (_pattern.IsOneWay)
        {
            // One-way patterns only carry initiator→responder traffic (§7.4); c2 is unused.
            c2.Dispose();
            return IsInitiator
                ? new NoiseTransport(Role, sender: c1, receiver: null, handshakeHash)
                : new NoiseTransport(Role, sender: null, receiver: c1, handshakeHash);
        }

        // The specification gives c1 to the initiator's sending side; the reference library gives it to whichever side
        // wrote the last handshake message (the responder in IK and KK, the initiator in XX).
        bool sendWithC1 = referenceSplit ? _pattern.Messages[^1].FromInitiator == IsInitiator : IsInitiator;
        return sendWithC1
            ? new NoiseTransport(Role, sender: c1, receiver: c2, handshakeHash)
            : new NoiseTransport(Role, sender: c2, receiver: c1, handshakeHash);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseSecrets();
    }

    private static T Required<T>(T? value, string what)
        where T : class =>
        value ?? throw new InvalidOperationException($"The pattern needs the {what} key, which is not available.");

    private static byte[] CheckPublicKey(ReadOnlySpan<byte> key, string name) =>
        key.Length == DhLength ? key.ToArray() : throw new ArgumentException($"A public key is {DhLength} bytes.", name);

    private int MessageLength(MessagePattern pattern, int payloadLength)
    {
        // Mirrors the token processing: a ciphertext grows by the tag once any key has been mixed in.
        bool hasKey = _symmetric.HasKey;
        int length = 0;
        foreach (var token in pattern.Tokens)
        {
            switch (token)
            {
                case NoiseToken.E:
                    length += DhLength;
                    hasKey |= _pattern.HasPsk;
                    break;
                case NoiseToken.S:
                    length += DhLength + (hasKey ? CipherState.TagLength : 0);
                    break;
                default:
                    hasKey = true;
                    break;
            }
        }

        return length + payloadLength + (hasKey ? CipherState.TagLength : 0);
    }

    private void Validate()
    {
        bool localPre = IsInitiator ? _pattern.InitiatorPreMessage.Contains(NoiseToken.S) : _pattern.ResponderPreMessage.Contains(NoiseToken.S);
        bool remotePre = IsInitiator ? _pattern.ResponderPreMessage.Contains(NoiseToken.S) : _pattern.InitiatorPreMessage.Contains(NoiseToken.S);
        bool remoteEphemeralPre = IsInitiator ? _pattern.ResponderPreMessage.Contains(NoiseToken.E) : _pattern.InitiatorPreMessage.Contains(NoiseToken.E);
        bool localSends = _pattern.Messages.Any(m => m.FromInitiator == IsInitiator && m.Tokens.Contains(NoiseToken.S));

        if ((localPre || localSends) && _s is null)
        {
            throw new ArgumentException($"{Protocol.Name} needs the {Role}'s static key pair.", "localStatic");
        }

        if (remotePre != (_rs is not null))
        {
            throw new ArgumentException(
                remotePre
                    ? $"{Protocol.Name} needs the peer's static public key before the handshake."
                    : $"{Protocol.Name} transmits the peer's static key; do not pass one.",
                "remoteStatic");
        }

        if (remoteEphemeralPre != (_re is not null))
        {
            throw new ArgumentException($"{Protocol.Name}: the peer's ephemeral key must be given exactly when it is a pre-message.", "remoteEphemeral");
        }

        if (_psks.Length != _pattern.PskCount || _psks.Any(p => p.Length != 32))
        {
            throw new ArgumentException($"{Protocol.Name} needs exactly {_pattern.PskCount} PSKs of 32 bytes.", "psks");
        }
    }

    private void MixPreMessage(IEnumerable<NoiseToken> tokens, bool fromInitiator)
    {
        bool local = fromInitiator == IsInitiator;
        foreach (var token in tokens)
        {
            if (token == NoiseToken.S)
            {
                _symmetric.MixHash(local ? Required(_s, "local static").PublicKey : Required(_rs, "remote static"));
            }
            else
            {
                MixEphemeral(local ? Required(_e, "local ephemeral").PublicKey : Required(_re, "remote ephemeral"));
            }
        }
    }

    // In a PSK handshake every e is also mixed into the key, so that the PSK-derived key is never used
    // with a nonce that another session could repeat (§9.2).
    private void MixEphemeral(ReadOnlySpan<byte> publicKey)
    {
        _symmetric.MixHash(publicKey);
        if (_pattern.HasPsk)
        {
            _symmetric.MixKey(publicKey);
        }
    }

    private void MixDh(NoiseToken token)
    {
        // es is DH(initiator e, responder s) on both sides; the key pair used depends on our role.
        var (local, remote) = token switch
        {
            NoiseToken.EE => (_e, _re),
            NoiseToken.ES => IsInitiator ? (_e, _rs) : (_s, _re),
            NoiseToken.SE => IsInitiator ? (_s, _re) : (_e, _rs),
            NoiseToken.SS => (_s, _rs),
            _ => throw new ArgumentOutOfRangeException(nameof(token), token, null),
        };

        Span<byte> shared = stackalloc byte[DhLength];
        try
        {
            Required(local, "local " + HandshakePattern.FormatToken(token)).Agree(Required(remote, "remote " + HandshakePattern.FormatToken(token)), shared);
            _symmetric.MixKey(shared);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_split)
        {
            throw new InvalidOperationException("The handshake has been split; use the NoiseTransport.");
        }

        if (_failed)
        {
            throw new InvalidOperationException("The handshake failed earlier and cannot continue.");
        }
    }

    private void ReleaseSecrets()
    {
        _symmetric.Dispose();
        if (_ownsEphemeral)
        {
            _e?.Dispose();
        }

        _e = null;
        foreach (var psk in _psks)
        {
            CryptographicOperations.ZeroMemory(psk);
        }
    }
}
