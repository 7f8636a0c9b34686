using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Tessera.Web.Tests.Infrastructure;

/// <summary>
/// The real Tessera server (the program itself, API and pages) on Kestrel at a free loopback port, on SQLite in a
/// data directory of its own, with a bootstrap admin (or, with <c>bootstrapAdmin: false</c>, none: a fresh install). A
/// browser can reach it like any deployment.
/// </summary>
public sealed class TesseraWebServer : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@tessera.test";
    public const string AdminPassword = "admin-password-1";
    public const string Password = "correct-horse-1";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;

    public TesseraWebServer(IDictionary<string, string?>? settings = null, TimeProvider? clock = null, bool bootstrapAdmin = true)
    {
        _clock = clock;
        DataDirectory = Path.Combine(Path.GetTempPath(), "tessera-web-tests", Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>
        {
            ["Tessera:DataDirectory"] = DataDirectory,
            ["Tessera:Bootstrap:AdminEmail"] = bootstrapAdmin ? AdminEmail : null,
            ["Tessera:Bootstrap:AdminPassword"] = bootstrapAdmin ? AdminPassword : null,
            // The suite signs in far more often than people do; the throttling test sets its own limits.
            ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "100000",
            ["Tessera:RateLimiting:FailedLoginsBeforeBackoff"] = "1000",
            // Fewer PBKDF2 rounds keep the suite fast; the hashing code is the same.
            ["Tessera:Passwords:HashIterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            // Each test server makes a fresh key ring in its own data directory and says so; once per server is noise here.
            ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
    }

    public string DataDirectory { get; }

    /// <summary>http://127.0.0.1:port, once <see cref="Start"/> has run.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    public void Start()
    {
        StartServer();
        BaseUrl = ClientOptions.BaseAddress.ToString().TrimEnd('/');
        Assert.StartsWith("http://127.0.0.1:", BaseUrl, StringComparison.Ordinal);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_clock is not null)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(_clock));
        }
    }

    /// <summary>An API client without credentials (for setting up what a test is not about).</summary>
    public HttpClient Api(string? token = null)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri(BaseUrl), HandleCookies = false, AllowAutoRedirect = false });
        client.Timeout = TimeSpan.FromSeconds(30);
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Registers a user through the API and returns their id.</summary>
    public async Task<string> RegisterAsync(string email, string displayName, string password = Password)
    {
        using var client = Api();
        var response = await client.PostAsJsonAsync("/v1/auth/register", new { email, password, displayName }, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Registering {email} failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("user").GetProperty("id").GetString()!;
    }

    /// <summary>Signs in through the API and returns the token.</summary>
    public async Task<string> LoginAsync(string email, string password = Password, string? userAgent = null)
    {
        using var client = Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password }) };
        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"Login of {email} failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>An admin decision through the API (for setting up state; the console's own buttons are what tests check).</summary>
    public async Task AdminPostAsync(string path, object? body = null)
    {
        using var client = Api(await LoginAsync(AdminEmail, AdminPassword));
        var response = await client.PostAsJsonAsync(path, body ?? new { }, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"POST {path} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }

    /// <summary>
    /// Sets a display name straight in the database, as a direct SQL change or a row from before today's name rule would:
    /// the pages must show whatever the store holds without being fooled by it.
    /// </summary>
    public async Task SetDisplayNameInDatabaseAsync(string userId, string displayName)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDirectory, "tessera.db")}");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE users SET display_name = $name WHERE id = $id";
        command.Parameters.AddWithValue("$name", displayName);
        command.Parameters.AddWithValue("$id", userId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>The reset link of the newest message to <paramref name="email"/> in the outbox.</summary>
    public async Task<string> ReadResetLinkAsync(string email)
    {
        var outbox = Path.Combine(DataDirectory, "outbox");
        foreach (var path in Directory.GetFiles(outbox).OrderDescending(StringComparer.Ordinal))
        {
            var lines = (await File.ReadAllLinesAsync(path, TestContext.Current.CancellationToken)).Select(line => line.Trim()).ToList();
            if (lines.Contains($"To: {email}", StringComparer.OrdinalIgnoreCase))
            {
                return lines.Single(line => line.StartsWith("/reset-password?token=", StringComparison.Ordinal));
            }
        }

        throw new InvalidOperationException($"No reset message to {email} in {outbox}.");
    }

    /// <summary>The audit events about a user, newest first, as (action, reason), read through the admin API.</summary>
    public async Task<IReadOnlyList<(string Action, string? Reason)>> AuditAsync(string userId)
    {
        using var client = Api(await LoginAsync(AdminEmail, AdminPassword));
        var text = await client.GetStringAsync($"/v1/admin/audit?userId={Uri.EscapeDataString(userId)}&limit=100", TestContext.Current.CancellationToken);
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (e.GetProperty("action").GetString()!, e.GetProperty("reason").GetString()))];
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                if (Directory.Exists(DataDirectory))
                {
                    Directory.Delete(DataDirectory, recursive: true);
                }

                return;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(100);
            }
        }
    }
}
