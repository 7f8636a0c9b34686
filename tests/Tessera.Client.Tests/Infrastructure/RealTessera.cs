using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Testing;

namespace Tessera.Client.Tests.Infrastructure;

/// <summary>
/// A real Tessera server on a loopback port (one per test class), the admin's token, and the calls a test makes
/// around the client under test: registering people, acting as an admin or as another device over raw HTTP.
/// </summary>
public class RealTessera : IAsyncLifetime
{
    public RealTessera()
        : this(null)
    {
    }

    protected RealTessera(IDictionary<string, string?>? settings) => Server = new LoopbackTesseraServer(settings);

    public LoopbackTesseraServer Server { get; }

    public Uri Authority => new(Server.BaseUrl);

    public string AdminToken { get; private set; } = string.Empty;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Server.Start();
        AdminToken = await LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>A client of this server, as an app makes it, on a memory store unless told otherwise.</summary>
    public TesseraClient NewClient(ITokenStore? store = null, TimeProvider? clock = null, Uri? authority = null, DeviceInfo? device = null) =>
        new(new TesseraClientOptions
        {
            Authority = authority ?? Authority,
            TokenStore = store ?? new MemoryTokenStore(),
            Device = device ?? new DeviceInfo("Test laptop", "desktop", "Linux"),
            TimeProvider = clock ?? TimeProvider.System,
            RequestTimeout = TimeSpan.FromSeconds(10),
        });

    /// <summary>Registers a person with <see cref="LoopbackTesseraServer.Password"/>.</summary>
    public async Task<(string Email, string UserId)> NewUserAsync()
    {
        var email = $"u{Guid.NewGuid():N}@example.test";
        using var client = Server.Api();
        var body = await Json(await client.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password }, Cancellation), HttpStatusCode.Created);
        return (email, body.GetProperty("user").GetProperty("id").GetString()!);
    }

    /// <summary>Signs in over raw HTTP, as another device; returns the token.</summary>
    public async Task<string> LoginAsync(string email, string password = LoopbackTesseraServer.Password)
    {
        using var client = Server.Api();
        var answer = await Json(await client.PostAsJsonAsync("/v1/auth/login", new { email, password, device = new { name = "Other device", platform = "web" } }, Cancellation));
        return answer.GetProperty("token").GetString()!;
    }

    /// <summary>An admin call that must succeed.</summary>
    public Task AdminAsync(HttpMethod method, string path, object? body = null) => CallAsync(AdminToken, method, path, body);

    /// <summary>A call with <paramref name="token"/> that must succeed.</summary>
    public async Task<JsonElement> CallAsync(string token, HttpMethod method, string path, object? body = null)
    {
        using var client = Server.Api(token);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        var response = await client.SendAsync(request, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The reset token the server wrote to its outbox for <paramref name="email"/>, waiting (up to 10 s) for the request to be handled.</summary>
    public async Task<string> ReadResetTokenAsync(string email)
    {
        var queue = Server.Services.GetRequiredService<Tessera.Core.Accounts.PendingPasswordResets>();
        var outbox = Path.Combine(Server.DataDirectory, "outbox");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (queue.Pending == 0 && Directory.Exists(outbox))
            {
                foreach (var path in Directory.GetFiles(outbox))
                {
                    var lines = await File.ReadAllLinesAsync(path, Cancellation);
                    if (lines.Any(line => line.Trim().Equals($"To: {email}", StringComparison.OrdinalIgnoreCase))
                        && lines.Select(line => line.Trim()).LastOrDefault(line => line.Length == 43 && line.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) is { } token)
                    {
                        return token;
                    }
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No reset token for {email} within 10 s.");
            await Task.Delay(20, Cancellation);
        }
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
