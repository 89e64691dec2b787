using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>
/// Strict JSON for the user API: unknown members, missing required members, wrong types and malformed text are
/// refused with a stable code before anything runs.
/// </summary>
internal static class ApiJson
{
    public const int MaxBodyBytes = 64 * 1024;

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        AllowDuplicateProperties = false,

        // The API answers application/json only, never HTML, so HTML-sensitive characters (<, >, &, ', +) need no
        // escaping: plain text as the reference writes it (a cert.date "…+00:00", not "…\u002B00:00").
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,

        // The API's own timestamps (expires, sessionExpires) in the documented form. Signed dates (cert.date, chit
        // date) are strings or JSON the client signs, never DateTimeOffset, so this cannot touch them.
        Converters = { new ApiTimestampConverter() },
    };

    /// <summary>Writes <c>YYYY-MM-DDTHH:MM:SS.fffZ</c> (UTC, three fraction digits, truncated); reads only that form.</summary>
    private sealed class ApiTimestampConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && ChipTimestamp.TryParse(reader.GetString(), out var value)
                ? value
                : throw new JsonException("expected a date YYYY-MM-DDTHH:MM:SS.fffZ");

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(ChipTimestamp.ToText(value));
    }

    // Duplicates are refused at every depth: the serializer's own option misses them inside a JsonObject-typed member
    // (an opaque ref, terms or JWK), where the JsonObject threw ArgumentException later, as a 500.
    private static readonly JsonDocumentOptions UniqueMembers = new() { AllowDuplicateProperties = false };

    /// <summary>201 with the new object, and its address in <c>Location</c> when it can be read back.</summary>
    public static IResult Created(HttpContext context, object body, string? location)
    {
        if (location is not null)
            context.Response.Headers.Location = location;
        return Results.Json(body, Options, statusCode: StatusCodes.Status201Created);
    }

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
            throw new DomainException("body_too_large", $"The request body exceeds {MaxBodyBytes} bytes.", 413);
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw new DomainException("unsupported_media_type", "Send application/json.", 415);
        try
        {
            // Stop as soon as the cap is passed: a chunked body has no Content-Length, and copying it whole first would
            // buffer up to Kestrel's 30 MB limit per request before refusing it.
            using var limited = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                limited.Write(buffer, 0, read);
                if (limited.Length > MaxBodyBytes)
                    throw new DomainException("body_too_large", $"The request body exceeds {MaxBodyBytes} bytes.", 413);
            }

            if (limited.Length == 0)
                throw new DomainException("malformed_json", "The request body is empty; a JSON object is expected.");
            var utf8 = limited.GetBuffer().AsSpan(0, (int)limited.Length);
            RefuseNulCharacters(utf8);
            RefuseDuplicateMembers(limited.GetBuffer().AsMemory(0, (int)limited.Length));
            return JsonSerializer.Deserialize<T>(utf8, Options)
                ?? throw new DomainException("malformed_json", "A JSON object is expected, not null.");
        }
        catch (JsonException e)
        {
            throw Classify(e);
        }
    }

    /// <summary>
    /// PostgreSQL can store no U+0000 in <c>text</c> or <c>jsonb</c>: a string or member name holding one (only
    /// possible as the escape <c>\u0000</c>) is refused here, before it reaches a statement and fails as a 500; so is a
    /// lone surrogate escape, which cannot be read as a string at all (in a member name of a JsonObject it used to throw
    /// later, as a 500).
    /// </summary>
    private static void RefuseNulCharacters(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                RefuseUnstorableNumber(reader.ValueSpan);
                continue;
            }

            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped)
                continue;
            string text;
            try
            {
                text = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                // A lone surrogate escape (\ud800): not Unicode text, and not storable either.
                throw new DomainException("invalid_field", "Text must be valid Unicode: an escape names a lone surrogate.");
            }

            if (text.Contains('\0', StringComparison.Ordinal))
                throw new DomainException("invalid_field", "Text may not contain the NUL character (\\u0000).");
        }
    }

    /// <summary>
    /// A number jsonb cannot hold (<c>1e200000</c>, <c>1e-20000</c>) would fail in the digest or the statement, as a
    /// 500; refused here. Only a literal with an exponent, or too long to be plain digits within the limits, can.
    /// </summary>
    private static void RefuseUnstorableNumber(ReadOnlySpan<byte> literal)
    {
        if (literal.IndexOfAny((byte)'e', (byte)'E') < 0 && literal.Length <= 16_000)
            return;
        if (!JsonbNumber.Fits(System.Text.Encoding.ASCII.GetString(literal)))
            throw new DomainException("invalid_field",
                "A number is beyond what can be stored (at most 131072 digits before the decimal point and 16383 after).");
    }

    /// <summary>
    /// A member name given twice in one object (at any depth) is refused: which of the two counts is a guess, and a
    /// signer and a verifier could guess differently.
    /// </summary>
    private static void RefuseDuplicateMembers(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var strict = JsonDocument.Parse(utf8, UniqueMembers);
            return;
        }
        catch (JsonException)
        {
            // Either a duplicate or malformed text; the lenient parse below tells which.
        }

        JsonDocument lenient;
        try
        {
            lenient = JsonDocument.Parse(utf8);
        }
        catch (JsonException)
        {
            return; // malformed: the deserializer reports it with its own code
        }

        using (lenient)
        {
            var path = DuplicatePath(lenient.RootElement, "");
            throw new DomainException("invalid_field",
                path is null ? "A member name appears twice in one object; give each member once."
                    : $"{path}: this member appears twice in one object; give each member once.");
        }
    }

    // The path of the first duplicated member, for the message only (the strict parse above already decided).
    private static string? DuplicatePath(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var member in element.EnumerateObject())
            {
                var child = path.Length == 0 ? member.Name : $"{path}.{member.Name}";
                if (!seen.Add(member.Name))
                    return child;
                if (DuplicatePath(member.Value, child) is { } found)
                    return found;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                if (DuplicatePath(item, $"{path}[{i++}]") is { } found)
                    return found;
            }
        }

        return null;
    }

    // The serializer's messages name .NET types ("could not be converted to MyChips…", "on type '…'"): the client gets
    // the member's path and our own words instead; only the reader's syntax messages (no types) are passed on.
    private static DomainException Classify(JsonException e)
    {
        var message = e.Message;
        var path = e.Path is { Length: > 1 } p ? p.TrimStart('$', '.') : null;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
            return new DomainException("unknown_field", $"Unknown member {path}: this request does not define it.");
        if (message.Contains("missing required", StringComparison.OrdinalIgnoreCase))
        {
            var including = message.IndexOf("including:", StringComparison.Ordinal);
            var names = including < 0 ? "" : message[(including + "including:".Length)..].Trim().TrimEnd('.');
            return new DomainException("missing_field", $"A required member is missing: {(names.Length > 0 ? names : "see the API documentation")}.");
        }

        if (message.Contains("allow null", StringComparison.OrdinalIgnoreCase) || message.Contains("non-nullable", StringComparison.OrdinalIgnoreCase))
            return new DomainException("missing_field", $"{path ?? "A member"}: required, may not be null.");
        if (message.Contains("could not be converted", StringComparison.Ordinal))
            return path is null
                ? new DomainException("malformed_json", "The body must be a JSON object.")
                : new DomainException("invalid_field", $"{path}: wrong type or value.");
        return new DomainException("malformed_json", $"The body is not valid JSON: {message}");
    }
}
