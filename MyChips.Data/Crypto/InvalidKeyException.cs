namespace MyChips.Data.Crypto;

/// <summary>A JWK or key file that cannot be used; <see cref="Reason"/> says why.</summary>
public sealed class InvalidKeyException : Exception
{
    public InvalidKeyException(InvalidKeyReason reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    public InvalidKeyReason Reason { get; }
}
