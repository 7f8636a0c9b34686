using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Tessera.Testing;

/// <summary>
/// Shared by the web and server suites (linked into both). The real Tessera server (the program itself, API and pages)
/// on Kestrel at a free loopback port, on SQLite in a data directory of its own, with a bootstrap admin: reached over a
/// real socket like any deployment, so Kestrel's own checks (header values, framing) are part of what is tested.
/// </summary>
public class LoopbackTesseraServer : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@tessera.test";
    public const string AdminPassword = "admin-password-1";
    public const string Password = "correct-horse-1";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;

    /// <param name="bootstrapAdmin">False for a fresh install, with no admin yet.</param>
    public LoopbackTesseraServer(IDictionary<string, string?>? settings = null, TimeProvider? clock = null, bool bootstrapAdmin = true)
    {
        _clock = clock;
        DataDirectory = Path.Combine(Path.GetTempPath(), "tessera-loopback-tests", Guid.NewGuid().ToString("N"));
        _settings = TesseraTestSettings.For(DataDirectory);
        if (!bootstrapAdmin)
        {
            _settings["Tessera:Bootstrap:AdminEmail"] = null;
            _settings["Tessera:Bootstrap:AdminPassword"] = null;
        }

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
        if (!BaseUrl.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The server should listen on a loopback port, not {BaseUrl}.");
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
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

    /// <summary>A client over the socket that follows no redirects and keeps no cookies, optionally with a Bearer token.</summary>
    public HttpClient Api(string? token = null)
    {
        // A plain socket client: a redirect is an answer to look at, and a cookie is sent only when a test sets it.
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri(BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
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

/// <summary>The settings every test server starts with, in a data directory of its own; a test adds its own on top.</summary>
public static class TesseraTestSettings
{
    /// <summary>
    /// The suites sign in, register and reset far more often than people do (the throttling tests set their own limits),
    /// and fewer PBKDF2 rounds keep them fast (the hashing code is the same). For every server a suite starts, in process
    /// or published.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> SuiteLimits = new Dictionary<string, string>
    {
        ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "100000",
        ["Tessera:RateLimiting:FailedLoginsBeforeBackoff"] = "1000",
        ["Tessera:RateLimiting:RegistrationsPerIpPerHour"] = "100000",
        ["Tessera:RateLimiting:RegistrationsPerEmailPerHour"] = "100000",
        ["Tessera:RateLimiting:PasswordChangesPerIpPerMinute"] = "100000",
        ["Tessera:RateLimiting:ResetRequestsPerIpPerHour"] = "100000",
        ["Tessera:Passwords:HashIterations"] = "1000",
    };

    public static Dictionary<string, string?> For(string dataDirectory) => new(SuiteLimits.Select(setting => KeyValuePair.Create(setting.Key, (string?)setting.Value)))
    {
        ["Tessera:DataDirectory"] = dataDirectory,
        ["Tessera:Bootstrap:AdminEmail"] = LoopbackTesseraServer.AdminEmail,
        ["Tessera:Bootstrap:AdminPassword"] = LoopbackTesseraServer.AdminPassword,
        // Start-up and shutdown chatter of dozens of servers hides the output of the test that failed.
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        // Each test server makes a fresh key ring in its own data directory and says so; once per server is noise here.
        ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
    };
}
