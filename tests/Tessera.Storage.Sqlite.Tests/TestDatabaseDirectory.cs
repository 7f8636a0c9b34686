using Microsoft.Data.Sqlite;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>A temporary directory for a test's database files, deleted with everything in it afterwards.</summary>
public sealed class TestDatabaseDirectory : IDisposable
{
    private readonly List<string> _connectionStrings = [];

    public TestDatabaseDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tessera-sqlite-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A connection string for a new database file in the directory (the file is not created).</summary>
    public string NewConnectionString(string name = "tessera.db")
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = System.IO.Path.Combine(Path, $"{System.IO.Path.GetFileNameWithoutExtension(name)}-{Guid.NewGuid():N}.db"),
        }.ToString();
        _connectionStrings.Add(connectionString);
        return connectionString;
    }

    public static string DatabasePath(string connectionString) => new SqliteConnectionStringBuilder(connectionString).DataSource;

    /// <summary>A plain connection to the file, with none of the store's settings, for looking under the hood.</summary>
    public static SqliteConnection OpenRaw(string connectionString, int defaultTimeoutSeconds = 30)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString)
        {
            DefaultTimeout = defaultTimeoutSeconds,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static int Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var connectionString in _connectionStrings)
        {
            using var connection = new SqliteConnection(connectionString);
            SqliteConnection.ClearPool(connection);
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open (Windows); the temp folder is cleaned up eventually anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
