using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tessera.Core.Accounts;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Benchmarks;

/// <summary>
/// The real core services over a SQLite file in a temporary directory, with one registered user signed in, as the
/// server builds them (minus the HTTP host). Password hashing is cheapened only so that set-up is quick; it is not
/// on any measured path.
/// </summary>
public sealed class BenchmarkServices : IDisposable
{
    private const string Email = "bench@example.test";
    private const string Password = "correct horse battery staple";

    private readonly ServiceProvider _provider;
    private readonly string _directory;

    private BenchmarkServices(ServiceProvider provider, string directory, LoginResult login)
    {
        _provider = provider;
        _directory = directory;
        Token = login.Token;
        Session = login.Session;
        User = login.User;
    }

    /// <summary>The signed-in user's secret token, as a client presents it.</summary>
    public string Token { get; }

    public Session Session { get; }

    public User User { get; }

    public SessionValidator Validator => _provider.GetRequiredService<SessionValidator>();

    public SessionCache Cache => _provider.GetRequiredService<SessionCache>();

    public TesseraMetrics Metrics => _provider.GetRequiredService<TesseraMetrics>();

    public ActivityTracker Activity => _provider.GetRequiredService<ActivityTracker>();

    public TimeProvider Clock => _provider.GetRequiredService<TimeProvider>();

    public TimeSpan IdleTimeout => _provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<TesseraOptions>>().Value.Sessions.IdleTimeout;

    public static async Task<BenchmarkServices> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "tessera-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddTesseraCore();
        services.AddTesseraSqliteStore($"Data Source={Path.Combine(directory, "tessera.db")}");
        services.Configure<Tessera.Core.Notifications.OutboxOptions>(o => o.Directory = Path.Combine(directory, "outbox"));
        services.Configure<TesseraOptions>(o =>
        {
            o.Passwords.HashIterations = 1000;
            o.RateLimiting.LoginPerIpPerMinute = 1_000_000;
            o.RateLimiting.RegistrationsPerIpPerHour = 1_000_000;
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        try
        {
            await provider.GetRequiredService<ITesseraStore>().MigrateAsync(CancellationToken.None);
            await provider.GetRequiredService<Registration>().RegisterAsync(Email, Password, "Bench", "127.0.0.1", CancellationToken.None);
            var login = await provider.GetRequiredService<SignIn>().LoginAsync(
                new LoginRequest(Email, Password, Device: null, UserAgent: "Tessera.Benchmarks/1.0", IpAddress: "127.0.0.1"),
                CancellationToken.None);
            return new BenchmarkServices(provider, directory, login);
        }
        catch
        {
            await provider.DisposeAsync();
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>
    /// Puts <paramref name="count"/> made-up sessions (of one made-up user) in the node cache beside the real one,
    /// so that lookups run against a map of a realistic size rather than a single entry.
    /// </summary>
    public void FillCache(int count)
    {
        var now = Clock.GetUtcNow();
        var user = User with { Id = "usr_filler", Email = "filler@example.test" };
        for (var i = 0; i < count; i++)
        {
            SecretTokens.TryKey(SecretTokens.Create(out var hash), out var key);
            var session = Session with { Id = $"ses_filler_{i}", TokenHash = hash, UserId = user.Id };
            Cache.Add(key, session, user, now, Cache.Epoch);
        }
    }

    public void Dispose()
    {
        _provider.Dispose();
        SqliteConnection.ClearAllPools();
        TryDelete(_directory);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
