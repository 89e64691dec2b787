using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MyChips.Data.Schema;

/// <summary>One numbered SQL migration file, <c>NNNN_name.sql</c>.</summary>
public sealed partial record Migration(int Number, string Name, MigrationMode Mode, string Sql, string Sha256)
{
    public string FileName => $"{Number:D4}_{Name}.sql";

    /// <summary>Parses a migration from its file name and text.</summary>
    /// <exception cref="SchemaException">The name or the mode header is malformed.</exception>
    public static Migration Parse(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
        {
            throw new SchemaException(SchemaErrorCode.InvalidMigration,
                $"'{fileName}' is not a migration file name; expected NNNN_name.sql (four digits, then a lower-case name).");
        }

        var header = sql.AsSpan().TrimStart();
        var firstLine = header[..(header.IndexOf('\n') is var n and >= 0 ? n : header.Length)].Trim().ToString();
        var mode = ModeHeader().Match(firstLine) switch
        {
            { Success: true } m when m.Groups[1].Value == "expand" => MigrationMode.Expand,
            { Success: true } => MigrationMode.Contract,
            _ => throw new SchemaException(SchemaErrorCode.InvalidMigration,
                $"Migration {fileName} must start with a line '-- mode: expand' or '-- mode: contract'."),
        };

        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
        return new Migration(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            match.Groups[2].Value, mode, sql, sha);
    }

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileNamePattern();

    [GeneratedRegex(@"^--\s*mode:\s*(expand|contract)\s*$")]
    private static partial Regex ModeHeader();
}
