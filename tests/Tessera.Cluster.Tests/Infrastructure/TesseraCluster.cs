using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Tessera.Testing;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>How a cluster is wired; the defaults are three nodes on the shared test Redis, under a key prefix of their own.</summary>
public sealed record ClusterOptions
{
    /// <summary>A redis-server of the cluster's own, which the test may stop and start again (<see cref="TesseraCluster.Redis"/>).</summary>
    public bool OwnRedis { get; init; }

    /// <summary>Nodes (0 = A, 1 = B, 2 = C) whose Redis connection goes through a <see cref="TcpChaosProxy"/> the test can stall.</summary>
    public IReadOnlySet<int> RedisThroughProxy { get; init; } = new HashSet<int>();

    /// <summary>Nodes whose PostgreSQL connections (store and change listener) go through a <see cref="PostgresProxy"/>.</summary>
    public IReadOnlySet<int> PostgresThroughProxy { get; init; } = new HashSet<int>();
}

/// <summary>A signed-up user of the cluster.</summary>
public sealed record ClusterUser(string Id, string Email, string Password);

/// <summary>A session: its bearer token and its public id.</summary>
public sealed record ClusterSession(string Token, string Id, string UserId);

/// <summary>
/// Three real Tessera.Server processes (A, B, C) on one fresh PostgreSQL database and on Redis (the shared test Redis
/// under a key prefix no other cluster uses, or a redis-server of the cluster's own), started together and ready
/// (every node Healthy: it reaches the store and Redis, and hears every invalidation). Killed on dispose, with the
/// database dropped and the Redis keys deleted (or the Redis stopped); the files (node logs, Redis log) are kept when a
/// test failed.
/// </summary>
public sealed class TesseraCluster : IAsyncLifetime
{
    public const string AdminEmail = "admin@cluster.test";
    public const string AdminPassword = "Cluster-admin-password-1";
    public const string UserPassword = "Cluster-user-password-1";

    /// <summary>How long a node may take to start and become healthy: the machine has two cores and may be loaded.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The bus's acknowledgement deadline, given to every node (Tessera:Redis:AckTimeout; also its default).</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(2);

    private readonly ClusterOptions _options;
    private readonly List<TesseraNode> _nodes = [];
    private readonly Dictionary<int, TcpChaosProxy> _proxies = [];
    private readonly Dictionary<int, PostgresProxy> _postgresProxies = [];
    private readonly List<string> _sessions = [];
    private RedisServer? _ownRedis;
    private bool _keepFiles;

    public TesseraCluster()
        : this(new ClusterOptions())
    {
    }

    internal TesseraCluster(ClusterOptions options)
    {
        _options = options;
        Root = Path.Combine(Path.GetTempPath(), $"tessera-cluster-{DateTime.UtcNow:HHmmss}-{Guid.NewGuid().ToString("N")[..8]}");
    }

    /// <summary>The temporary directory holding every node's data directory and log, and the Redis directory.</summary>
    public string Root { get; }

    public ClusterDatabase Database { get; private set; } = null!;

    /// <summary>The cluster's own redis-server (only with <see cref="ClusterOptions.OwnRedis"/>).</summary>
    public RedisServer Redis => _ownRedis ?? throw new InvalidOperationException("This cluster runs on the shared Redis; ask for OwnRedis to stop it.");

    /// <summary>host:port of the Redis the nodes use (through a proxy for some).</summary>
    public string RedisEndpoint { get; private set; } = null!;

    /// <summary>The first part of every Redis key and channel of this cluster (Tessera:Redis:KeyPrefix).</summary>
    public string KeyPrefix { get; } = "tc" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Behind-the-nodes access to the cluster's Redis (CLIENT LIST, CLIENT KILL).</summary>
    public RedisAdmin RedisAdmin { get; private set; } = null!;

    public IReadOnlyList<TesseraNode> Nodes => _nodes;

    public TesseraNode A => _nodes[0];

    public TesseraNode B => _nodes[1];

    public TesseraNode C => _nodes[2];

    /// <summary>A session of the bootstrap admin, made on node A.</summary>
    public ClusterSession Admin { get; private set; } = null!;

    /// <summary>The proxy between node <paramref name="index"/> and Redis (see <see cref="ClusterOptions.RedisThroughProxy"/>).</summary>
    public TcpChaosProxy RedisProxy(int index) => _proxies[index];

    /// <summary>The proxy between node <paramref name="index"/> and PostgreSQL (see <see cref="ClusterOptions.PostgresThroughProxy"/>).</summary>
    public PostgresProxy PostgresProxy(int index) => _postgresProxies[index];

    /// <summary>The node id a node is given (Tessera:Redis:NodeId).</summary>
    public static string NodeId(TesseraNode node) => "node-" + node.Name.ToLowerInvariant();

    /// <summary>The Redis client name of a node, as the server names its connection ({KeyPrefix}-{NodeId}) and CLIENT LIST shows it.</summary>
    public string RedisClientName(TesseraNode node) => $"{KeyPrefix}-{NodeId(node)}";

    public async ValueTask InitializeAsync()
    {
        await TestEnvironment.CheckAsync();
        Directory.CreateDirectory(Root);
        Database = await ClusterDatabase.CreateAsync();
        if (_options.OwnRedis)
        {
            _ownRedis = await RedisServer.StartAsync(Path.Combine(Root, "redis"));
            RedisEndpoint = _ownRedis.Endpoint;
        }
        else
        {
            RedisEndpoint = TestEnvironment.SharedRedis;
        }

        RedisAdmin = new RedisAdmin(RedisEndpoint);
        var redisPort = int.Parse(RedisEndpoint[(RedisEndpoint.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        foreach (var index in _options.RedisThroughProxy)
        {
            _proxies[index] = new TcpChaosProxy(redisPort);
        }

        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(Database.ConnectionString);
        foreach (var index in _options.PostgresThroughProxy)
        {
            _postgresProxies[index] = new PostgresProxy(postgres.Host!, postgres.Port);
        }

        string[] names = ["A", "B", "C"];
        for (var i = 0; i < names.Length; i++)
        {
            var port = TestEnvironment.FreePort();
            var directory = Path.Combine(Root, "node-" + names[i].ToLowerInvariant());
            var redisEndpoint = _proxies.TryGetValue(i, out var proxy) ? proxy.Endpoint : RedisEndpoint;
            var storeConnectionString = _postgresProxies.TryGetValue(i, out var postgresProxy)
                ? new Npgsql.NpgsqlConnectionStringBuilder(Database.ConnectionString) { Host = "127.0.0.1", Port = postgresProxy.Port }.ConnectionString
                : Database.ConnectionString;
            string[] arguments =
            [
                "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                $"--Tessera:DataDirectory={directory}",
                "--Tessera:Storage:Provider=postgres",
                $"--Tessera:Storage:ConnectionString={storeConnectionString}",
                $"--Tessera:Redis:Configuration={redisEndpoint}",
                $"--Tessera:Redis:KeyPrefix={KeyPrefix}",
                $"--Tessera:Redis:NodeId=node-{names[i].ToLowerInvariant()}",
                $"--Tessera:Redis:AckTimeout={AckTimeout.ToString("c", CultureInfo.InvariantCulture)}",
                $"--Tessera:Bootstrap:AdminEmail={AdminEmail}",
                $"--Tessera:Bootstrap:AdminPassword={AdminPassword}",
                "--Tessera:Passwords:HashIterations=1000",
                "--Tessera:RateLimiting:LoginPerIpPerMinute=1000000",
                "--Tessera:RateLimiting:RegistrationsPerIpPerHour=1000000",
                "--Tessera:RateLimiting:PasswordChangesPerIpPerMinute=1000000",
                "--Logging:LogLevel:Default=Warning",
                // The cluster's own account of fencing, trusting and listening, for the logs shown on failure.
                "--Logging:LogLevel:Tessera.Redis=Information",
                "--Logging:LogLevel:Tessera.Storage.Postgres=Information",
                // Every /readyz poll that is not Healthy would be logged: the tests poll it many times a second.
                "--Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks=Critical",
            ];
            _nodes.Add(new TesseraNode(names[i], port, directory, arguments));
        }

        // All three at once, as an operator's orchestrator would: migrations and the bootstrap admin race.
        foreach (var node in _nodes)
        {
            node.Start();
        }

        try
        {
            await Task.WhenAll(_nodes.Select(node => node.WaitUntilHealthyAsync(StartTimeout)));
            Admin = await LoginAsync(A, AdminEmail, AdminPassword);
        }
        catch
        {
            _keepFiles = true;
            throw;
        }
    }

    /// <summary>Signs a new user up on <paramref name="node"/> (A by default).</summary>
    public async Task<ClusterUser> CreateUserAsync(TesseraNode? node = null, string? label = null)
    {
        var email = $"{label ?? "user"}-{Guid.NewGuid().ToString("N")[..10]}@cluster.test";
        var response = await (node ?? A).PostAsync("/v1/auth/register", new { email, password = UserPassword, displayName = label ?? "Cluster user" });
        Assert.True(response.Status == 201, $"register on {(node ?? A).Name}: {response}");
        return new ClusterUser(response.Json.GetProperty("user").GetProperty("id").GetString()!, email, UserPassword);
    }

    /// <summary>Signs <paramref name="user"/> in on <paramref name="node"/>; the session is named in the diagnostics.</summary>
    public async Task<ClusterSession> LoginAsync(TesseraNode node, ClusterUser user)
    {
        var session = await LoginAsync(node, user.Email, user.Password);
        lock (_sessions)
        {
            _sessions.Add($"{session.Id} (user {session.UserId}, made on {node.Name})");
        }

        return session;
    }

    public static async Task<ClusterSession> LoginAsync(TesseraNode node, string email, string password)
    {
        var response = await node.PostAsync("/v1/auth/login", new { email, password, device = new { name = "cluster test", platform = "api" } });
        Assert.True(response.Status == 200, $"login of {email} on {node.Name}: {response}");
        var json = response.Json;
        return new ClusterSession(
            json.GetProperty("token").GetString()!,
            json.GetProperty("session").GetProperty("id").GetString()!,
            json.GetProperty("user").GetProperty("id").GetString()!);
    }

    /// <summary>Makes every node read the session (twice, so the second is a hit where the node trusts its cache).</summary>
    public async Task WarmAsync(ClusterSession session, params TesseraNode[] nodes)
    {
        foreach (var node in nodes.Length == 0 ? _nodes : (IEnumerable<TesseraNode>)nodes)
        {
            for (var i = 0; i < 2; i++)
            {
                var response = await node.WhoAmIAsync(session.Token);
                Assert.True(response.Status == 200, $"warming session {session.Id} on {node.Name}: {response}");
            }
        }
    }

    /// <summary>Waits until every running node is Healthy again; returns how long each took, from now.</summary>
    public async Task<IReadOnlyDictionary<string, TimeSpan>> WaitUntilHealthyAsync(TimeSpan timeout, params TesseraNode[] nodes)
    {
        var started = Stopwatch.GetTimestamp();
        var result = new Dictionary<string, TimeSpan>();
        await Task.WhenAll((nodes.Length == 0 ? [.. _nodes] : nodes).Select(async node =>
        {
            await node.WaitUntilHealthyAsync(timeout);
            lock (result)
            {
                result[node.Name] = Stopwatch.GetElapsedTime(started);
            }
        }));
        return result;
    }

    /// <summary>Keeps the cluster's files (node logs, Redis log) after dispose.</summary>
    public void KeepFiles() => _keepFiles = true;

    /// <summary>Where everything is, and the end of every node's log.</summary>
    public string Diagnostics(int lines = 80)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Cluster files (kept): {Root}; database {Database?.Name}; redis {RedisEndpoint}, key prefix {KeyPrefix}{(_ownRedis is null ? string.Empty : $" (log {_ownRedis.Directory}/redis.log)")}");
        lock (_sessions)
        {
            text.AppendLine("Sessions made by the test: " + string.Join(", ", _sessions));
        }

        foreach (var node in _nodes)
        {
            text.AppendLine(node.LogTail(lines));
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        foreach (var proxy in _proxies.Values)
        {
            await proxy.DisposeAsync();
        }

        foreach (var proxy in _postgresProxies.Values)
        {
            await proxy.DisposeAsync();
        }

        if (RedisAdmin is not null)
        {
            if (_ownRedis is null)
            {
                try
                {
                    await RedisAdmin.DeleteKeysAsync(KeyPrefix + ":");
                }
                catch (StackExchange.Redis.RedisException)
                {
                    // Keys left in the throwaway Redis are harmless: no other cluster uses this prefix.
                }
            }

            await RedisAdmin.DisposeAsync();
        }

        if (_ownRedis is not null)
        {
            await _ownRedis.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }

        if (!_keepFiles)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary directory is harmless.
            }
        }
    }
}
