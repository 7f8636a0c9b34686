using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>One HTTP answer, read whole: the status, the raw body, and the problem members the contract names.</summary>
public sealed record ApiResponse(int Status, string Body)
{
    /// <summary>Status 0: the request did not get an answer (connection refused or reset, timeout).</summary>
    public static ApiResponse Failed(Exception exception) => new(0, $"{exception.GetType().Name}: {exception.Message}");

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Code => Member("code");

    public string? Reason => Member("reason");

    public string? Member(string name)
    {
        if (Body.Length == 0 || Body[0] != '{')
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public override string ToString() => $"{Status} {(Body.Length > 400 ? Body[..400] + "…" : Body)}";
}

internal static class Requests
{
    public static HttpRequestMessage Create(HttpMethod method, string path, string? token = null, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return request;
    }
}
