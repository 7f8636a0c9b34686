using Tessera.Core.Audit;
using Tessera.Core.Clients;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core.Storage;

/// <summary>
/// The source of truth. Every change goes through one write transaction that holds the change and its audit
/// events, so that a crash leaves either both or neither.
/// </summary>
public interface ITesseraStore
{
    /// <summary>Creates or upgrades the schema.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>A transaction that may write. Concurrent writers are serialised by the store.</summary>
    Task<IStoreTransaction> BeginWriteAsync(CancellationToken cancellationToken);

    /// <summary>A consistent read; committing it is not needed.</summary>
    Task<IStoreTransaction> BeginReadAsync(CancellationToken cancellationToken);

    /// <summary>True when the store answers a trivial query.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>One unit of work over the stores. Disposing without <see cref="CommitAsync"/> rolls back.</summary>
public interface IStoreTransaction : IAsyncDisposable
{
    IUserStore Users { get; }

    ISessionStore Sessions { get; }

    IAuditLog Audit { get; }

    IPasswordResetTokenStore PasswordResetTokens { get; }

    IServiceClientStore ServiceClients { get; }

    IExternalIdentityStore ExternalIdentities { get; }

    ILoopbackCodeStore LoopbackCodes { get; }

    Task CommitAsync(CancellationToken cancellationToken);
}

public interface IUserStore
{
    Task<User?> FindByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The users with these ids (ids that name nobody are left out), in id order; in a write transaction their rows are
    /// locked until it ends where the store locks rows (in id order, so that two batches never deadlock). One query for
    /// a whole batch of a bulk change.
    /// </summary>
    Task<IReadOnlyList<User>> FindByIdsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken);

    /// <summary>Adds a user; false when the email is already taken.</summary>
    Task<bool> InsertAsync(User user, CancellationToken cancellationToken);

    /// <summary>Writes every field of <paramref name="user"/> over the row with its id.</summary>
    Task UpdateAsync(User user, CancellationToken cancellationToken);

    Task<UserPage> SearchAsync(UserSearch search, CancellationToken cancellationToken);

    /// <summary>
    /// Whether any user has ever been made an admin (deactivated, banned and deleted ones count). In a write transaction,
    /// two transactions that both ask before creating the first admin are serialised, so only one of them sees false.
    /// </summary>
    Task<bool> AnyAdminAsync(CancellationToken cancellationToken);
}

/// <summary>Filter, order and page for the admin users list. <see cref="Page"/> starts at 1.</summary>
public sealed record UserSearch(string? Text, UserStatusFilter? Status, int Page, int PageSize, DateTimeOffset Now, UserSort Sort = UserSort.OldestFirst);

/// <summary>The order of the users list; ties are broken by id, so that pages never overlap.</summary>
public enum UserSort
{
    OldestFirst,
    NewestFirst,

    /// <summary>By display name, ignoring case.</summary>
    Name,

    Email,
}

public enum UserStatusFilter
{
    Active,
    Deactivated,
    Deleted,
    Banned,
}

public sealed record UserPage(IReadOnlyList<User> Users, int Total);

public interface ISessionStore
{
    Task InsertAsync(Session session, CancellationToken cancellationToken);

    Task<Session?> FindByTokenHashAsync(TokenHash tokenHash, CancellationToken cancellationToken);

    Task<Session?> FindByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>The user's sessions that are neither revoked nor past their absolute expiry.</summary>
    Task<IReadOnlyList<Session>> ListUnrevokedAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes the user's unrevoked, unexpired sessions that <paramref name="scope"/> selects; returns their ids.</summary>
    Task<IReadOnlyList<string>> RevokeAsync(string userId, RevocationScope scope, SessionRevocation revocation, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes every unrevoked, unexpired session of each of these users in one statement (a bulk change's batch);
    /// returns the ids it revoked per user, each list in id order. Users with nothing to revoke are left out.
    /// </summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> RevokeAllOfUsersAsync(
        IReadOnlyCollection<string> userIds, SessionRevocation revocation, CancellationToken cancellationToken);

    /// <summary>Moves last-active times forward (never back) for sessions not yet revoked.</summary>
    Task TouchAsync(IReadOnlyCollection<SessionActivity> activity, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="limit"/> sessions that ended before <paramref name="endedBefore"/>: revoked then,
    /// past their absolute end then, or unused for <paramref name="idleTimeout"/> by then. Returns how many it deleted.
    /// </summary>
    Task<int> PurgeEndedAsync(DateTimeOffset endedBefore, TimeSpan idleTimeout, int limit, CancellationToken cancellationToken);
}

/// <summary>Which of a user's sessions a revocation ends.</summary>
public sealed record RevocationScope(string? OnlySessionId, string? ExceptSessionId)
{
    public static readonly RevocationScope All = new(null, null);

    public static RevocationScope Only(string sessionId) => new(sessionId, null);

    public static RevocationScope AllExcept(string sessionId) => new(null, sessionId);
}

public sealed record SessionRevocation(DateTimeOffset At, string RevokedBy, RevocationReason Reason);

public readonly record struct SessionActivity(string SessionId, DateTimeOffset LastActiveAt);

public interface IAuditLog
{
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    /// <summary>Appends the events in as few statements as the database allows; the same rows as one <see cref="AppendAsync"/> each.</summary>
    Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken);
}

/// <summary><see cref="UserId"/> matches the target or the actor; <see cref="After"/> and <see cref="Before"/> bound the time.</summary>
public sealed record AuditQuery(string? UserId, string? Action, DateTimeOffset? After, DateTimeOffset? Before, int Limit);

public interface IPasswordResetTokenStore
{
    /// <summary>
    /// Stores a token and, in the same transaction, ends every unused token of its user issued before it: only the
    /// newest message works.
    /// </summary>
    Task InsertAsync(PasswordResetToken token, CancellationToken cancellationToken);

    /// <summary>Marks the token used and returns it when it is unused and unexpired; null otherwise.</summary>
    Task<PasswordResetToken?> ConsumeAsync(TokenHash tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks every unused token of the user used, so that an older email cannot be replayed.</summary>
    Task InvalidateAllAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);
}

public sealed record PasswordResetToken(TokenHash TokenHash, string UserId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt);

/// <summary>The service clients (relying apps) and the hashes of their secrets.</summary>
public interface IServiceClientStore
{
    /// <summary>Adds a client; its id is new.</summary>
    Task InsertAsync(ServiceClient client, CancellationToken cancellationToken);

    /// <summary>The client with this id; in a write transaction, its row is locked until the transaction ends where the store locks rows.</summary>
    Task<ServiceClient?> FindByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>Every client, oldest first (ties by id).</summary>
    Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Writes every field of <paramref name="client"/> over the row with its id.</summary>
    Task UpdateAsync(ServiceClient client, CancellationToken cancellationToken);
}

/// <summary>The sign-in methods at OpenID Connect providers linked to users, keyed by (provider, subject).</summary>
public interface IExternalIdentityStore
{
    /// <summary>The link of this subject at this provider; in a write transaction, its row is locked until the transaction ends where the store locks rows.</summary>
    Task<ExternalIdentity?> FindAsync(string provider, string subject, CancellationToken cancellationToken);

    /// <summary>The user's links, oldest first (ties by provider, then subject).</summary>
    Task<IReadOnlyList<ExternalIdentity>> ListByUserAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Adds a link; false when this (provider, subject) is already linked (to anyone).</summary>
    Task<bool> InsertAsync(ExternalIdentity identity, CancellationToken cancellationToken);

    /// <summary>Writes every field of <paramref name="identity"/> over the row with its (provider, subject).</summary>
    Task UpdateAsync(ExternalIdentity identity, CancellationToken cancellationToken);

    /// <summary>Removes the link of this subject at this provider if it belongs to <paramref name="userId"/>; true when it did.</summary>
    Task<bool> DeleteAsync(string userId, string provider, string subject, CancellationToken cancellationToken);
}

/// <summary>
/// The one-time codes of the native loopback flow (RFC 8252), between the provider's callback and the client's exchange.
/// Kept in the store, not in a node's memory, so that a callback served by one node and an exchange served by another
/// meet; only the code's SHA-256 is kept.
/// </summary>
public interface ILoopbackCodeStore
{
    /// <summary>Stores a code and, in the same transaction, deletes codes that expired before <paramref name="purgeBefore"/>.</summary>
    Task InsertAsync(LoopbackCode code, DateTimeOffset purgeBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the code used (when it was not) and returns it as it was before this call, used or not, expired or not, so that
    /// the caller can tell a replay from an expiry; null when there is no such code. Two exchanges of one code at once: the
    /// second waits for the first and sees it used.
    /// </summary>
    Task<LoopbackCode?> ConsumeAsync(TokenHash codeHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Remembers the session the code's exchange made, in the exchange's write, so that a replay of the code can end it
    /// (RFC 6749 section 4.1.2).
    /// </summary>
    Task RecordSessionAsync(TokenHash codeHash, string sessionId, CancellationToken cancellationToken);
}

/// <param name="CodeHash">SHA-256 of the code handed to the native client through its loopback redirect.</param>
/// <param name="UserId">The account the provider's callback found (and the one rule let in, then).</param>
/// <param name="Provider">The provider's configured name, for the session's audit.</param>
/// <param name="CodeChallenge">The client's PKCE <c>code_challenge</c> (S256): only the holder of its verifier can exchange the code.</param>
/// <param name="SessionId">The session its exchange made; null until then, and for an exchange that made none.</param>
public sealed record LoopbackCode(
    TokenHash CodeHash, string UserId, string Provider, string CodeChallenge, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt,
    string? SessionId = null);
