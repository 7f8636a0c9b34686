using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Core.Tests;

/// <summary>
/// The real core services over a real SQLite file in a temporary directory, on a fake clock: what a single
/// Tessera node runs, minus HTTP. Hosted services (the activity flusher) are not started: tests flush by hand. The one
/// exception is the dispatcher of password reset requests, which sends after the request has been answered.
/// </summary>
public sealed class CoreHarness : IAsyncDisposable
{
    /// <summary>Every harness clock starts here: a whole minute, so that minute steps stay exact in the store's milliseconds.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public const string DefaultPassword = "correct horse battery staple";

    private readonly ServiceProvider _services;
    private bool _disposed;

    private CoreHarness(ServiceProvider services, FakeTimeProvider clock, string directory, string connectionString)
    {
        _services = services;
        Clock = clock;
        DataDirectory = directory;
        ConnectionString = connectionString;
    }

    public FakeTimeProvider Clock { get; }

    public string DataDirectory { get; }

    /// <summary>The connection string of the store's database, for tests that go behind the services' back.</summary>
    public string ConnectionString { get; }

    public IServiceProvider Services => _services;

    public Registration Registration => Get<Registration>();

    public SignIn SignIn => Get<SignIn>();

    public SignOut SignOut => Get<SignOut>();

    public PasswordChange PasswordChange => Get<PasswordChange>();

    public PasswordReset PasswordReset => Get<PasswordReset>();

    public SessionService Sessions => Get<SessionService>();

    public UserAdministration Admin => Get<UserAdministration>();

    public SessionValidator Validator => Get<SessionValidator>();

    public SessionCache Cache => Get<SessionCache>();

    private PasswordResetDispatcher ResetDispatcher => _services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<PasswordResetDispatcher>().Single();

    /// <summary>Asks for a reset the way the API does, then waits until the dispatcher has handled every request.</summary>
    public async Task RequestPasswordResetAsync(string email, string? ipAddress = null, CancellationToken cancellationToken = default)
    {
        await PasswordReset.RequestPasswordResetAsync(email, ipAddress, cancellationToken);
        var queue = Get<PendingPasswordResets>();
        for (var waited = 0; queue.Pending > 0; waited++)
        {
            Assert.True(waited < 1000, "The reset request was not handled within 10 s.");
            await Task.Delay(10, cancellationToken);
        }
    }

    public ActivityTracker Activity => Get<ActivityTracker>();

    public ITesseraStore Store => Get<ITesseraStore>();

    public TesseraMetrics Metrics => Get<TesseraMetrics>();

    /// <summary>The count an observable counter of this harness's meter (and no other harness's) shows now.</summary>
    public long Count(string instrument)
    {
        using var collector = new MetricCollector<long>(Metrics.Meter, instrument);
        collector.RecordObservableInstruments();
        return collector.LastMeasurement?.Value ?? throw new InvalidOperationException($"{instrument} measured nothing.");
    }

    public TesseraOptions Options => Get<Microsoft.Extensions.Options.IOptions<TesseraOptions>>().Value;

    /// <summary>Builds the services, migrates a fresh database and returns the harness; dispose it to delete everything.</summary>
    public static async Task<CoreHarness> StartAsync(
        Action<TesseraOptions>? configure = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), "tessera-core-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var connectionString = $"Data Source={Path.Combine(directory, "tessera.db")}";
        var clock = new FakeTimeProvider(Start);

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTesseraCore();
        services.AddTesseraSqliteStore(connectionString);
        services.AddSingleton<TimeProvider>(clock);
        services.Configure<Tessera.Core.Notifications.OutboxOptions>(o => o.Directory = Path.Combine(directory, "outbox"));
        services.Configure<TesseraOptions>(o =>
        {
            o.Passwords.HashIterations = 1000;
            o.RateLimiting.LoginPerIpPerMinute = 100_000;
            o.RateLimiting.RegistrationsPerIpPerHour = 100_000;
            o.RateLimiting.PasswordChangesPerIpPerMinute = 100_000;
            o.RateLimiting.ResetRequestsPerIpPerHour = 100_000;
            configure?.Invoke(o);
        });
        configureServices?.Invoke(services);

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var harness = new CoreHarness(provider, clock, directory, connectionString);
        try
        {
            await harness.Store.MigrateAsync(cancellationToken);
            await harness.ResetDispatcher.StartAsync(cancellationToken);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Registers a user through registration (the way a person does) and returns it.</summary>
    public Task<User> RegisterAsync(string email, string password = DefaultPassword, CancellationToken cancellationToken = default) =>
        Registration.RegisterAsync(email, password, displayName: null, ipAddress: "192.0.2.1", cancellationToken);

    /// <summary>Creates an admin directly (as the bootstrap does) and returns the actor that acts as them.</summary>
    public async Task<(User User, Actor Actor)> CreateAdminAsync(string email = "admin@example.com", CancellationToken cancellationToken = default)
    {
        var now = Clock.GetUtcNow();
        var admin = new User
        {
            Id = Ids.NewUserId(Clock),
            Email = User.NormalizeEmail(email),
            DisplayName = "Admin",
            PasswordHash = Get<IPasswordHasher>().Hash(DefaultPassword),
            Role = UserRole.Admin,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await Registration.CreateUserAsync(admin, Actor.System, ipAddress: null, cancellationToken);
        return (admin, new Actor(ActorKind.Admin, admin.Id));
    }

    public Task<LoginResult> LoginAsync(string email, string password = DefaultPassword, string ipAddress = "192.0.2.1", CancellationToken cancellationToken = default) =>
        SignIn.LoginAsync(new LoginRequest(email, password, Device: null, UserAgent: null, ipAddress), cancellationToken);

    /// <summary>The session as the store has it now (not as the cache or the activity tracker see it).</summary>
    public async Task<Session?> ReadStoredSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        await using var read = await Store.BeginReadAsync(cancellationToken);
        return await read.Sessions.FindByIdAsync(sessionId, cancellationToken);
    }

    /// <summary>A connection straight to the database file, for changes the services do not know about.</summary>
    public SqliteConnection OpenDirectConnection()
    {
        // Not from the store's pool: its connections keep the pragmas (query_only, for one) of their last use.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await ResetDispatcher.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by something outside the harness: leave the temporary directory for the OS to clean.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

