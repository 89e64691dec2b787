namespace MyChips.Data.Embedded;

/// <summary>
/// The embedded cluster's data directory cannot be used (a file, not creatable, not writable, or out of the postgres
/// OS user's reach): the operator's configuration, so the process refuses to start with this one-line message.
/// </summary>
public sealed class EmbeddedDataDirectoryException(string message) : Exception(message)
{
    public const string Code = "data_dir_unusable";
}
