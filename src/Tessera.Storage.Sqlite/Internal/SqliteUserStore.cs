using Tessera.Core;
using System.Data.Common;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Storage.Sqlite.Internal;

internal sealed class SqliteUserStore(SqliteContext db) : IUserStore
{
    // SQLITE_CONSTRAINT_UNIQUE: the only UNIQUE constraint on users is the email (a duplicate id is SQLITE_CONSTRAINT_PRIMARYKEY).
    private const int UniqueConstraintViolation = 2067;

    private const string Columns =
        "id, email, display_name, password_hash, role, status, banned, banned_until, ban_reason, security_version, created_at, updated_at";

    public async Task<User?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await QuerySingleAsync($"SELECT {Columns} FROM users WHERE id = @id", new { id }, cancellationToken);
    }

    public async Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(normalizedEmail);
        return await QuerySingleAsync($"SELECT {Columns} FROM users WHERE email = @normalizedEmail", new { normalizedEmail }, cancellationToken);
    }

    public async Task<bool> InsertAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        const string sql = $"""
            INSERT INTO users ({Columns})
            VALUES (@Id, @Email, @DisplayName, @PasswordHash, @Role, @Status, @Banned, @BannedUntil, @BanReason, @SecurityVersion, @CreatedAt, @UpdatedAt)
            """;
        try
        {
            await db.Connection.ExecuteAsync(db.Command(sql, Parameters(user), cancellationToken));
            return true;
        }
        catch (SqliteException exception) when (exception.SqliteExtendedErrorCode == UniqueConstraintViolation)
        {
            // The failed statement is undone on its own; the transaction stays usable.
            return false;
        }
    }

    public async Task UpdateAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        const string sql = """
            UPDATE users SET
                email = @Email, display_name = @DisplayName, password_hash = @PasswordHash, role = @Role, status = @Status,
                banned = @Banned, banned_until = @BannedUntil, ban_reason = @BanReason, security_version = @SecurityVersion,
                created_at = @CreatedAt, updated_at = @UpdatedAt
            WHERE id = @Id
            """;
        var changed = await db.Connection.ExecuteAsync(db.Command(sql, Parameters(user), cancellationToken));
        if (changed != 1)
        {
            throw new InvalidOperationException($"There is no user with id '{user.Id}' to update.");
        }
    }

    public async Task<bool> AnyAdminAsync(CancellationToken cancellationToken) =>
        // SQLite has one writer at a time: a write transaction that asks holds the database until it commits.
        await db.Connection.ExecuteScalarAsync<long>(db.Command("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')", null, cancellationToken)) == 1;

    public async Task<UserPage> SearchAsync(UserSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.PageSize, 1);

        var where = new List<string>(2);
        var parameters = new DynamicParameters();

        if (!string.IsNullOrWhiteSpace(search.Text))
        {
            // Folded in .NET (see SqliteTesseraStore.CaseFoldFunction) so that case is ignored beyond ASCII, which LIKE alone does not do.
            where.Add($"""({SqliteTesseraStore.CaseFoldFunction}(email) LIKE @pattern ESCAPE '\' OR {SqliteTesseraStore.CaseFoldFunction}(display_name) LIKE @pattern ESCAPE '\')""");
            parameters.Add("pattern", $"%{EscapeLike(SqliteTesseraStore.CaseFold(search.Text.Trim()))}%");
        }

        where.Add(search.Status switch
        {
            null => "status <> 'deleted'",
            UserStatusFilter.Active => "status = 'active'",
            UserStatusFilter.Deactivated => "status = 'deactivated'",
            UserStatusFilter.Deleted => "status = 'deleted'",
            UserStatusFilter.Banned => "banned = 1 AND (banned_until IS NULL OR banned_until > @now)",
            _ => throw new ArgumentOutOfRangeException(nameof(search), search.Status, "Unknown status filter."),
        });
        parameters.Add("now", UnixTime.ToMilliseconds(search.Now));
        parameters.Add("take", search.PageSize);
        parameters.Add("skip", (long)(search.Page - 1) * search.PageSize);

        var condition = string.Join(" AND ", where);
        var total = await db.Connection.ExecuteScalarAsync<long>(
            db.Command($"SELECT count(*) FROM users WHERE {condition}", parameters, cancellationToken));
        var users = await QueryAsync(
            $"SELECT {Columns} FROM users WHERE {condition} ORDER BY {OrderOf(search.Sort)} LIMIT @take OFFSET @skip", parameters, cancellationToken);
        return new UserPage(users, checked((int)total));
    }

    private static string OrderOf(UserSort sort) => sort switch
    {
        UserSort.NewestFirst => "created_at DESC, id DESC",
        UserSort.Name => $"{SqliteTesseraStore.CaseFoldFunction}(display_name), id",
        UserSort.Email => "email, id",
        _ => "created_at, id",
    };

    private async Task<User?> QuerySingleAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var reader = await db.Connection.ExecuteReaderAsync(db.Command(sql, parameters, cancellationToken));
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private async Task<List<User>> QueryAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        var users = new List<User>();
        await using var reader = await db.Connection.ExecuteReaderAsync(db.Command(sql, parameters, cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            users.Add(Read(reader));
        }

        return users;
    }

    // The row <-> record mapping of users lives here and only here: Read follows the order of Columns.
    private static User Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Email = reader.GetString(1),
        DisplayName = reader.GetString(2),
        PasswordHash = reader.GetStringOrNull(3),
        Role = WireNames.ParseRole(reader.GetString(4)),
        Status = WireNames.ParseStatus(reader.GetString(5)),
        Banned = reader.GetInt64(6) != 0,
        BannedUntil = reader.GetTimeOrNull(7),
        BanReason = reader.GetStringOrNull(8),
        SecurityVersion = reader.GetInt64(9),
        CreatedAt = reader.GetTime(10),
        UpdatedAt = reader.GetTime(11),
    };

    private static object Parameters(User user) => new
    {
        user.Id,
        user.Email,
        user.DisplayName,
        user.PasswordHash,
        Role = WireNames.RoleName(user.Role),
        Status = WireNames.StatusName(user.Status),
        Banned = user.Banned ? 1L : 0L,
        BannedUntil = UnixTime.ToMilliseconds(user.BannedUntil),
        user.BanReason,
        user.SecurityVersion,
        CreatedAt = UnixTime.ToMilliseconds(user.CreatedAt),
        UpdatedAt = UnixTime.ToMilliseconds(user.UpdatedAt),
    };

    /// <summary>Makes <c>%</c>, <c>_</c> and the escape character itself match literally in a LIKE pattern with <c>ESCAPE '\'</c>.</summary>
    private static string EscapeLike(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '%' or '_' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
