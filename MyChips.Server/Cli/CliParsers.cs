using System.CommandLine.Parsing;
using System.Globalization;

namespace MyChips.Server.Cli;

/// <summary>
/// Parsers for option values whose refusal says what is expected in the operator's words: the library's own message
/// names .NET types ("as expected type 'System.Nullable`1[System.Int32]'").
/// </summary>
internal static class CliParsers
{
    public static int? WholeNumber(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            return value;
        result.AddError($"{Name(result)} must be a whole number (0 to {int.MaxValue}); got '{text}'.");
        return null;
    }

    public static int WholeNumberRequired(ArgumentResult result) => WholeNumber(result) ?? 0;

    public static Guid? Uuid(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (Guid.TryParse(text, out var value))
            return value;
        result.AddError($"{Name(result)} must be an instance id (a UUID, as 'mychips upgrade status' lists them); got '{text}'.");
        return null;
    }

    private static string Name(ArgumentResult result) => result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
}
