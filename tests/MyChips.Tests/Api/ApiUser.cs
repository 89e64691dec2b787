using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;

namespace MyChips.Tests.Api;

/// <summary>A user's app: it holds the private key, signs what the protocol says it signs, and calls the user API.</summary>
public sealed class ApiUser(string cuid, UserSigningKey key, HttpClient http) : IDisposable
{
    public string Cuid { get; } = cuid;

    public UserSigningKey Key { get; } = key;

    public HttpClient Http { get; } = http;

    public string? Token { get; private set; }

    public void UseToken(string token)
    {
        Token = token;
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public string Sign(byte[] bytes) => Base64Url.Encode(Key.Sign(bytes));

    public string SignTally(JsonObject tallyJson) => Sign(TallyJson.SignedBytes(tallyJson));

    public async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is string raw)
            request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        else if (body is not null)
            request.Content = JsonContent.Create(body);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await ReadAsync(response));
    }

    public async Task<JsonObject> OkAsync(HttpMethod method, string path, object? body = null)
    {
        var (status, json) = await SendAsync(method, path, body);
        Assert.True((int)status is >= 200 and < 300, $"{method} {path} -> {(int)status}: {json.ToJsonString()}");
        return json;
    }

    public Task<JsonObject> GetAsync(string path) => OkAsync(HttpMethod.Get, path);

    public Task<JsonObject> PostAsync(string path, object? body = null) => OkAsync(HttpMethod.Post, path, body ?? new { });

    public async Task<JsonArray> ListAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
    }

    /// <summary>Builds and signs a chit core as an app would (PROTOCOL 6.2): by = our side.</summary>
    public object Payment(Guid tally, string by, long units, string? memo = null, JsonNode? reference = null, Guid? uuid = null)
    {
        var id = uuid ?? Guid.NewGuid();
        var date = ChipTimestamp.Truncate(DateTimeOffset.UtcNow);
        var core = ChitJson.Core(tally, by, "tran", id, date, units, reference, memo);
        return new { uuid = id, date = ChipTimestamp.ToText(date), units, @ref = reference, memo, signature = Sign(ChitJson.SignedBytes(core)) };
    }

    public object Settings(Guid tally, string by, JsonObject settings, string? memo = null)
    {
        var id = Guid.NewGuid();
        var date = ChipTimestamp.Truncate(DateTimeOffset.UtcNow);
        var core = ChitJson.Core(tally, by, "set", id, date, null, settings, memo);
        return new { uuid = id, date = ChipTimestamp.ToText(date), @ref = settings, memo, signature = Sign(ChitJson.SignedBytes(core)) };
    }

    public static async Task<JsonObject> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? new JsonObject { ["value"] = JsonNode.Parse(text) };
    }

    public void Dispose()
    {
        Http.Dispose();
        Key.Dispose();
    }
}
