using System.Net;
using Npgsql;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>
/// A NUL character anywhere in the input (email, search, ids, reasons, device names, form fields) is refused before it
/// reaches a query: PostgreSQL cannot keep one in text, and answered a 503 as if the store were down. Run on both stores.
/// (A NUL in the path cannot be sent to the in-memory test server; <see cref="Probing.ProbedInputTests"/> sends it to Kestrel.)
/// </summary>
public abstract class NulInputTests
{
    protected abstract TesseraApp App { get; }

    public static TheoryData<string, string> AnonymousBodies => new()
    {
        { "/v1/auth/login", """{"email": "ada\u0000@example.com", "password": "correct-horse-1"}""" },
        { "/v1/auth/login", """{"email": "ada@example.com", "password": "correct-horse-1", "device": {"name": "phone\u0000"}}""" },
        { "/v1/auth/register", """{"email": "ada\u0000@example.com", "password": "correct-horse-1"}""" },
        { "/v1/auth/register", """{"email": "ada@example.com", "password": "correct-horse-1", "displayName": "Ada\u0000"}""" },
        { "/v1/auth/password/reset-request", """{"email": "ada\u0000@example.com"}""" },
        { "/v1/auth/password/reset", """{"token": "abc\u0000", "newPassword": "correct-horse-2"}""" },
    };

    [Theory]
    [MemberData(nameof(AnonymousBodies))]
    public async Task A_NUL_in_an_anonymous_body_is_refused_with_400(string path, string json)
    {
        using var client = App.Anonymous();

        var response = await client.PostRaw(path, json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("/v1/admin/users?search=ada%00")]
    [InlineData("/v1/admin/users?status=active%00")]
    [InlineData("/v1/admin/audit?userId=usr_%00")]
    public async Task A_NUL_in_an_admin_query_is_refused_with_400(string path)
    {
        using var admin = await App.AdminAsync();

        var response = await admin.Get(path);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("""{"reason": "spam\u0000"}""")]
    [InlineData("""{"reason": "\u0000"}""")]
    public async Task A_NUL_in_a_ban_reason_is_refused_and_bans_nobody(string json)
    {
        var user = await App.NewUserAsync();
        using var admin = await App.AdminAsync();

        var response = await admin.PostRaw($"/v1/admin/users/{user.Id}/ban", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        using var client = App.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_NUL_in_a_bulk_user_id_is_refused_with_400()
    {
        using var admin = await App.AdminAsync();

        var response = await admin.PostRaw("/v1/admin/users/bulk", """{"action": "ban", "userIds": ["usr_\u0000"]}""");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_NUL_in_the_sign_in_form_is_refused_with_400()
    {
        using var client = App.Anonymous();
        using var form = await client.PageFormAsync("/login", [new("Email", "ada\0@example.com"), new("Password", TesseraApp.Password)]);

        var response = await client.Submit(form);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }
}

public sealed class NulInputOnSqliteTests(SharedApp shared) : NulInputTests, IClassFixture<SharedApp>
{
    protected override TesseraApp App => shared.App;
}

public sealed class NulInputOnPostgresTests(PostgresApp postgres) : NulInputTests, IClassFixture<PostgresApp>
{
    protected override TesseraApp App => postgres.App;
}

/// <summary>
/// A <see cref="TesseraApp"/> on PostgreSQL: a fresh database on the server that TESSERA_TEST_POSTGRES names, dropped at
/// the end. Without the variable the tests fail: a check that quietly skips would pass for a store never tried.
/// </summary>
public sealed class PostgresApp : IAsyncLifetime
{
    public const string Variable = "TESSERA_TEST_POSTGRES";

    private readonly string _database = $"tessera_server_{Guid.NewGuid():N}";
    private readonly IDictionary<string, string?> _settings;
    private string? _admin;
    private TesseraApp? _app;

    public PostgresApp()
        : this(new Dictionary<string, string?>())
    {
    }

    private PostgresApp(IDictionary<string, string?> settings) => _settings = settings;

    public TesseraApp App => _app ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>A started app on a fresh database, with <paramref name="settings"/> on top (a class whose app needs more than the fixture's).</summary>
    public static async Task<PostgresApp> StartAsync(IDictionary<string, string?> settings)
    {
        var postgres = new PostgresApp(settings);
        await postgres.InitializeAsync();
        return postgres;
    }

    public async ValueTask InitializeAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set: these tests need a PostgreSQL server. eval \"$(eng/postgres.sh start)\" starts a throwaway one.");
        }

        _admin = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
        await ExecuteAsync($"CREATE DATABASE {_database} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        var own = new NpgsqlConnectionStringBuilder(connectionString) { Database = _database }.ConnectionString;
        _app = new TesseraApp(settings: new Dictionary<string, string?>(_settings)
        {
            ["Tessera:Storage:Provider"] = "postgres",
            ["Tessera:Storage:ConnectionString"] = own,
        });
        _app.Anonymous().Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        if (_admin is not null)
        {
            await ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
