using StackExchange.Redis;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>An admin connection to one Redis, for what the tests do behind the nodes' backs (CLIENT LIST, CLIENT KILL, cleaning up).</summary>
public sealed class RedisAdmin(string endpoint) : IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    public string Endpoint { get; } = endpoint;

    public IDatabase Database => Connection().GetDatabase();

    public async Task PingAsync() => await Database.PingAsync();

    /// <summary>The clients Redis sees (CLIENT LIST), one dictionary of fields per connection.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> ClientListAsync()
    {
        var list = (string?)await Database.ExecuteAsync("CLIENT", "LIST") ?? string.Empty;
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => (IReadOnlyDictionary<string, string>)line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(field => field.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal))
            .ToList();
    }

    /// <summary>Kills every connection whose client name is <paramref name="clientName"/> (CLIENT KILL ID each); returns how many.</summary>
    public async Task<int> KillClientsNamedAsync(string clientName)
    {
        var killed = 0;
        foreach (var client in await ClientListAsync())
        {
            if (client.TryGetValue("name", out var name) && name == clientName)
            {
                killed += (int)await Database.ExecuteAsync("CLIENT", "KILL", "ID", client["id"]);
            }
        }

        return killed;
    }

    /// <summary>Deletes every key that starts with <paramref name="prefix"/>.</summary>
    public async Task DeleteKeysAsync(string prefix)
    {
        var server = Connection().GetServer(Connection().GetEndPoints()[0]);
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 500))
        {
            await Database.KeyDeleteAsync(key);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    private ConnectionMultiplexer Connection() =>
        _connection ??= ConnectionMultiplexer.Connect(new ConfigurationOptions
        {
            EndPoints = { Endpoint },
            AllowAdmin = true,
            AbortOnConnectFail = false,
            ConnectTimeout = 1000,
            SyncTimeout = 5000,
            AsyncTimeout = 5000,
            ClientName = "tessera-cluster-tests-admin",
            BacklogPolicy = BacklogPolicy.FailFast,
        });
}
