using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;

namespace Tessera.Cli.Api;

/// <summary>
/// Tessera's HTTP API as the CLI uses it: JSON in, <see cref="JsonElement"/> out (so <c>--json</c> passes the server's own
/// shapes on), problems turned into <see cref="ApiException"/>, and an unreachable server into one clear sentence.
/// </summary>
internal sealed class TesseraApi : IDisposable
{
    private static readonly string UserAgent = $"tessera-cli/{typeof(TesseraApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0"}";

    private readonly HttpClient _http;

    public TesseraApi(string baseUrl, string? token)
    {
        if (!Uri.TryCreate(baseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliException($"'{baseUrl}' is not an http:// or https:// address.", ExitCodes.Usage, "invalid_url");
        }

        BaseUrl = uri.ToString().TrimEnd('/');
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = uri,
            // A bulk request of up to 1000 users revokes their sessions on every node before it answers.
            Timeout = TimeSpan.FromMinutes(5),
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public string BaseUrl { get; }

    public Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, body: null, cancellationToken);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, path, body: null, cancellationToken);

    /// <summary>Sends one request; a 2xx answer's JSON (an empty object for 204), else an <see cref="ApiException"/>.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: CliJson.Options);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw Unreachable(exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"Tessera at {BaseUrl} did not answer in time ({exception.Message}).", ExitCodes.Failed, "timeout");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonElement? json = null;
            if (!string.IsNullOrWhiteSpace(text))
            {
                try
                {
                    json = JsonDocument.Parse(text).RootElement.Clone();
                }
                catch (JsonException)
                {
                    json = null;
                }
            }

            if (response.IsSuccessStatusCode)
            {
                return json ?? JsonDocument.Parse("{}").RootElement.Clone();
            }

            var code = json?.Str("code") ?? (response.StatusCode == HttpStatusCode.NotFound ? "not_found" : "http_" + (int)response.StatusCode);
            var detail = json?.Str("detail") ?? json?.Str("title") ?? response.ReasonPhrase ?? "The request failed.";
            throw new ApiException(response.StatusCode, code, detail, json);
        }
    }

    private CliException Unreachable(HttpRequestException exception)
    {
        Exception innermost = exception;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        return new CliException($"Cannot reach Tessera at {BaseUrl}: {innermost.Message.TrimEnd('.')}.", ExitCodes.Failed, "unreachable");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Reading the server's JSON without a class per shape.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };

    public static string? Str(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Bool(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    public static int Int(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 0;

    public static JsonElement Prop(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;
}
