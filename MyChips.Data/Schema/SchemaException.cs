namespace MyChips.Data.Schema;

/// <summary>The schema manager refused to go on; <see cref="Code"/> is one of <see cref="SchemaErrorCode"/>.</summary>
public sealed class SchemaException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
