using Tessera.Core;
using System.Data.Common;
using System.Text;
using Dapper;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Storage.Postgres.Internal;

internal sealed class PostgresUserStore(PostgresContext db) : IUserStore
{
    private const string Columns =
        "id, email, display_name, password_hash, role, status, banned, banned_until, ban_reason, security_version, created_at, updated_at";

    // Case is folded by ICU, beyond ASCII and whatever the database's locale (V001 checks that the collation exists).
    private const string Fold = "COLLATE \"und-x-icu\"";

    public async Task<User?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await QuerySingleAsync($"SELECT {Columns} FROM users WHERE id = @id{LockForWrite}", new { id }, cancellationToken);
    }

    public async Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(normalizedEmail);
        return await QuerySingleAsync(
            $"SELECT {Columns} FROM users WHERE email = @normalizedEmail{LockForWrite}", new { normalizedEmail }, cancellationToken);
    }

    public async Task<bool> InsertAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        // ON CONFLICT instead of catching the unique violation: an error would abort the whole transaction, and the
        // caller may go on with it. Only a taken email is answered with false; a taken id still fails loudly. A
        // concurrent insert of the same email waits for the other transaction and then answers as it ended.
        const string sql = $"""
            INSERT INTO users ({Columns})
            VALUES (@Id, @Email, @DisplayName, @PasswordHash, @Role, @Status, @Banned, @BannedUntil, @BanReason, @SecurityVersion, @CreatedAt, @UpdatedAt)
            ON CONFLICT (email) DO NOTHING
            RETURNING 1
            """;
        var inserted = await db.Connection.QueryAsync<int>(db.Command(sql, Parameters(user), cancellationToken));
        return inserted.Any();
    }

    public async Task UpdateAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        // The FROM item marks the transaction as Tessera's own write (tessera.writer, local to the transaction) before
        // the row is changed, so that the trigger that moves security_version for direct SQL writes leaves this one as
        // written (see V003). set_config is volatile: the planner keeps the one-row subquery and runs it.
        const string sql = """
            UPDATE users SET
                email = @Email, display_name = @DisplayName, password_hash = @PasswordHash, role = @Role, status = @Status,
                banned = @Banned, banned_until = @BannedUntil, ban_reason = @BanReason, security_version = @SecurityVersion,
                created_at = @CreatedAt, updated_at = @UpdatedAt
            FROM (SELECT set_config('tessera.writer', 'on', true)) AS tessera_writer
            WHERE id = @Id
            """;
        var changed = await db.Connection.ExecuteAsync(db.Command(sql, Parameters(user), cancellationToken));
        if (changed != 1)
        {
            throw new InvalidOperationException($"There is no user with id '{user.Id}' to update.");
        }
    }

    public async Task<UserPage> SearchAsync(UserSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.PageSize, 1);

        var where = new List<string>(2);
        var parameters = new DynamicParameters();

        if (!string.IsNullOrWhiteSpace(search.Text))
        {
            // Both sides folded the same way by the same (ICU) rules; the pattern's own % _ \ are escaped.
            where.Add($"""(upper(email {Fold}) LIKE upper(@pattern {Fold}) ESCAPE '\' OR upper(display_name {Fold}) LIKE upper(@pattern {Fold}) ESCAPE '\')""");
            parameters.Add("pattern", $"%{EscapeLike(search.Text.Trim())}%");
        }

        where.Add(search.Status switch
        {
            null => "status <> 'deleted'",
            UserStatusFilter.Active => "status = 'active'",
            UserStatusFilter.Deactivated => "status = 'deactivated'",
            UserStatusFilter.Deleted => "status = 'deleted'",
            UserStatusFilter.Banned => "banned AND (banned_until IS NULL OR banned_until > @now)",
            _ => throw new ArgumentOutOfRangeException(nameof(search), search.Status, "Unknown status filter."),
        });
        parameters.Add("now", PostgresTime.ToStored(search.Now));
        parameters.Add("take", search.PageSize);
        parameters.Add("skip", (long)(search.Page - 1) * search.PageSize);

        var condition = string.Join(" AND ", where);
        var total = await db.Connection.ExecuteScalarAsync<long>(
            db.Command($"SELECT count(*) FROM users WHERE {condition}", parameters, cancellationToken));
        var users = await QueryAsync(
            $"SELECT {Columns} FROM users WHERE {condition} ORDER BY {OrderOf(search.Sort)} LIMIT @take OFFSET @skip", parameters, cancellationToken);
        return new UserPage(users, checked((int)total));
    }

    /// <summary>
    /// In a write transaction a user is read to be changed: lock the row until the transaction ends, so that two
    /// read-modify-writes of one user (on this node or another) run one after the other, the second reading what the
    /// first wrote (READ COMMITTED gives FOR UPDATE the latest committed row once the lock is granted).
    /// </summary>
    public async Task<bool> AnyAdminAsync(CancellationToken cancellationToken)
    {
        if (db.ForWrite)
        {
            // No row to lock while there is no admin: a transaction-level advisory lock makes two nodes that both create
            // "the first admin" take turns, and the second then sees the first one's.
            await db.Connection.ExecuteAsync(db.Command("SELECT pg_advisory_xact_lock(hashtext('tessera.first_admin'))", null, cancellationToken));
        }

        return await db.Connection.ExecuteScalarAsync<bool>(
            db.Command("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')", null, cancellationToken));
    }

    private string LockForWrite => db.ForWrite ? " FOR UPDATE" : "";

    private static string OrderOf(UserSort sort) => sort switch
    {
        UserSort.NewestFirst => "created_at DESC, id DESC",
        UserSort.Name => $"lower(display_name {Fold}), id",
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
        Banned = reader.GetBoolean(6),
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
        user.Banned,
        BannedUntil = PostgresTime.ToStored(user.BannedUntil),
        user.BanReason,
        user.SecurityVersion,
        CreatedAt = PostgresTime.ToStored(user.CreatedAt),
        UpdatedAt = PostgresTime.ToStored(user.UpdatedAt),
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
