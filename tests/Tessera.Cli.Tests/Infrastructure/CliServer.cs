using System.Net.Http.Json;

namespace Tessera.Cli.Tests.Infrastructure;

/// <summary>
/// One real Tessera (the server program on Kestrel, on a loopback port, SQLite) for a test class, with helpers to make
/// users and sessions over HTTP, and a fresh tool (own config file) per test signed in as the bootstrap admin.
/// </summary>
public sealed class CliServer : IAsyncLifetime
{
    private int _next;
    private string? _adminToken;

    public LoopbackTesseraServer Server { get; } = new();

    public string Url => Server.BaseUrl;

    public ValueTask InitializeAsync()
    {
        Server.Start();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    /// <summary>A tool with a config file of its own, not signed in.</summary>
    public CliProcess NewTool() => new(Path.Combine(Server.DataDirectory, "cli", $"{Guid.NewGuid():N}", "config.json"));

    /// <summary>A tool signed in as the bootstrap admin through <c>login --email --password-stdin</c>.</summary>
    public async Task<CliProcess> SignedInToolAsync()
    {
        var tool = NewTool();
        var login = await tool.RunWithInputAsync(LoopbackTesseraServer.AdminPassword + "\n", "login", "--url", Url, "--email", LoopbackTesseraServer.AdminEmail, "--password-stdin");
        Assert.True(login.ExitCode == 0, login.ToString());
        return tool;
    }

    /// <summary>Registers a user with a unique email and signs it in <paramref name="sessions"/> times; its id and email.</summary>
    public async Task<(string Id, string Email)> NewUserAsync(int sessions = 0, string prefix = "user")
    {
        var email = $"{prefix}-{Interlocked.Increment(ref _next)}-{Guid.NewGuid():N}@example.test";
        using var api = Server.Api();
        var registered = await api.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password });
        registered.EnsureSuccessStatusCode();
        var id = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("id").GetString()!;
        for (var i = 0; i < sessions; i++)
        {
            await LoginAsync(email);
        }

        return (id, email);
    }

    /// <summary>Signs in; the token.</summary>
    public async Task<string> LoginAsync(string email, string? password = null, object? device = null)
    {
        using var api = Server.Api();
        var response = await api.PostAsJsonAsync("/v1/auth/login", new { email, password = password ?? LoopbackTesseraServer.Password, device });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    /// <summary>GET as the bootstrap admin (a session of its own, made directly, not through the tool).</summary>
    public async Task<JsonElement> AdminGetAsync(string path)
    {
        _adminToken ??= await LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
        using var api = Server.Api(_adminToken);
        var response = await api.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>POST as the bootstrap admin; the answer's JSON.</summary>
    public async Task<JsonElement> AdminPostAsync(string path, object body)
    {
        _adminToken ??= await LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
        using var api = Server.Api(_adminToken);
        var response = await api.PostAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement> UserAsync(string id) => (await AdminGetAsync($"/v1/admin/users/{id}")).GetProperty("user");

    /// <summary>Whether a session token still holds (GET /v1/auth/session).</summary>
    public async Task<bool> HoldsAsync(string token)
    {
        using var api = Server.Api(token);
        var response = await api.GetAsync("/v1/auth/session");
        return response.IsSuccessStatusCode;
    }
}
