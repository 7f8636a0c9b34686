using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;
using Tessera.Storage.Postgres;

namespace Tessera.DataProtection.Postgres;

/// <summary>
/// The ASP.NET Core Data Protection key ring in the cluster's PostgreSQL database (table <c>data_protection_keys</c>),
/// so that every node protects and unprotects with the same keys: an antiforgery token or a cookie made by one node is
/// understood by every other. Each element the key manager stores is one row, named by its friendly name; storing an
/// element again under a name that is there already keeps the first (elements are never changed once written, and a
/// key's material must not change under payloads already protected with it).
/// </summary>
/// <remarks>
/// The rows are the keys themselves, as the key manager hands them over: unencrypted unless key encryption at rest is
/// configured (<c>ProtectKeysWith...</c>). Nothing here logs or returns them anywhere else.
/// <see cref="IXmlRepository"/> is synchronous, and so are these calls; the key manager makes them rarely (at start-up,
/// when it refreshes its key ring about once a day, and when it makes a key).
/// </remarks>
public sealed class PostgresXmlRepository : IXmlRepository, IDisposable
{
    /// <summary>The table that holds the elements (created by migration V004).</summary>
    public const string Table = "data_protection_keys";

    /// <summary>
    /// The session-level advisory lock held by <see cref="RunExclusiveAsync"/>: nodes started together on an empty key ring
    /// take turns to resolve it, so that the first makes the key and the others find it. It spells "tesskeys".
    /// </summary>
    internal const long KeyRingLockKey = 0x746573736B657973;

    /// <summary>The name the key ring's connections carry on the server, unless its connection string gives one.</summary>
    internal const string ApplicationName = "tessera-keys";

    private readonly NpgsqlDataSource _dataSource;

    /// <param name="connectionString">The store's Npgsql connection string.</param>
    public PostgresXmlRepository(string connectionString)
    {
        _dataSource = NpgsqlDataSource.Create(PostgresTesseraStore.Resolve(connectionString, ApplicationName).ConnectionString);
    }

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = _dataSource.OpenConnection();
        using var command = new NpgsqlCommand($"SELECT xml FROM {Table} ORDER BY created_at, friendly_name", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentException.ThrowIfNullOrEmpty(friendlyName);

        using var connection = _dataSource.OpenConnection();
        using var command = new NpgsqlCommand(
            $"INSERT INTO {Table} (friendly_name, xml) VALUES (@name, @xml) ON CONFLICT (friendly_name) DO NOTHING", connection);
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs <paramref name="action"/> while holding a lock that every node of the database shares. Each node resolves its
    /// key ring inside it at start-up (<see cref="SharedKeyRingStartup"/>): without it, nodes started together on an empty table would each make a first key
    /// of their own, and a node that had not seen another's key would refuse that node's forms until its next refresh.
    /// </summary>
    public async Task RunExclusiveAsync(Action action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);

        // Held on a connection of its own; should this process die, its session ends and the lock goes with it.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection) { CommandTimeout = 0 })
        {
            take.Parameters.AddWithValue("key", KeyRingLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            // The action does its own (synchronous) I/O through this repository: keep it off the caller's thread.
            await Task.Run(action, cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            release.Parameters.AddWithValue("key", KeyRingLockKey);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose() => _dataSource.Dispose();
}
