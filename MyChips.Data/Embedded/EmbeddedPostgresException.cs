namespace MyChips.Data.Embedded;

/// <summary>A PostgreSQL tool run by the embedded launcher failed; the message carries its output.</summary>
public sealed class EmbeddedPostgresException(string message) : Exception(message);
