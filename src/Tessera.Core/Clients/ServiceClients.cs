using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;

namespace Tessera.Core.Clients;

/// <summary>A new client or a rotated one, with the secret that is shown this once and never again.</summary>
public sealed record IssuedClientSecret(ServiceClient Client, string Secret);

/// <summary>A session that holds, for a client's introspection; <see cref="Disclosed"/> false: say only that it is active.</summary>
public sealed record Introspection(ActiveSession Session, Users.User User, bool Disclosed);

/// <summary>What a client's <c>/oauth2/revoke</c> did.</summary>
public enum TokenRevocation
{
    /// <summary>The token names no session that had not ended: nothing to do (RFC 7009 answers the same as for success).</summary>
    NothingToEnd,

    Revoked,

    /// <summary>The session was created through another client; it is left alone.</summary>
    OtherClientsSession,
}

/// <summary>The outcome of a client authentication: the client, or a refusal, or a wait imposed on the address.</summary>
public readonly record struct ClientAuthentication(ServiceClient? Client, TimeSpan? RetryAfter)
{
    public static readonly ClientAuthentication Refused = new(null, null);

    public bool Succeeded => Client is not null;
}

/// <summary>
/// Service clients: the admin's create, list, rotate and disable (each audited in its own transaction), the check of a
/// client's id and secret (a store read per use, so that disabling holds at once on every node), and what a client does
/// with a session token: introspect it (RFC 7662) and revoke it (RFC 7009).
/// </summary>
public sealed class ServiceClients(
    ITesseraStore store,
    AccessChanges changes,
    SessionValidator validator,
    IThrottle throttle,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    ServiceClientCache cache)
{
    public const int MaxNameLength = 100;

    private readonly TimeSpan _rotationOverlap = options.Value.Clients.RotationOverlap;
    private readonly TimeSpan _idleTimeout = options.Value.Sessions.IdleTimeout;

    public async Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken)
    {
        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.ServiceClients.ListAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IssuedClientSecret> CreateAsync(Actor admin, string? name, IReadOnlyList<string?>? scopes, string? ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var checkedName = ShownText.Check(name, "name", "The client's name", MaxNameLength)
            ?? throw TesseraException.Validation("name", "A name is required.");
        var checkedScopes = CheckScopes(scopes);
        var secret = SecretTokens.Create(out var hash);
        return await changes.ApplyAsync(async change =>
        {
            var client = new ServiceClient
            {
                Id = Ids.NewClientId(clock),
                Name = checkedName,
                Scopes = checkedScopes,
                CreatedAt = change.Now,
                CreatedBy = admin.Id ?? admin.RevokedBy,
                SecretHash = hash,
            };
            await change.Transaction.ServiceClients.InsertAsync(client, cancellationToken).ConfigureAwait(false);
            change.Audit(AuditActions.ClientCreated, admin, client.Id, ipAddress);
            return new IssuedClientSecret(client, secret);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A new secret; the current one becomes the previous one and works for the rotation overlap, the one before stops.</summary>
    public async Task<IssuedClientSecret> RotateAsync(Actor admin, string clientId, string? ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var secret = SecretTokens.Create(out var hash);
        return await ChangeAsync(clientId, async (change, client) =>
        {
            if (client.Disabled)
            {
                throw new TesseraException(ErrorCodes.ClientDisabled, "The client is disabled; create a new one.");
            }

            var overlapEnd = change.Now + _rotationOverlap;
            var rotated = client with
            {
                SecretHash = hash,
                PreviousSecretHash = _rotationOverlap > TimeSpan.Zero ? client.SecretHash : null,
                PreviousSecretExpiresAt = _rotationOverlap > TimeSpan.Zero ? overlapEnd : null,
                RotatedAt = change.Now,
            };
            await change.Transaction.ServiceClients.UpdateAsync(rotated, cancellationToken).ConfigureAwait(false);
            change.Audit(AuditActions.ClientRotated, admin, client.Id, ipAddress);
            change.ClientChanged(client.Id);
            return new IssuedClientSecret(rotated, secret);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disables the client: every later use of any of its secrets is refused. Disabling a disabled client changes nothing.</summary>
    public Task<ServiceClient> DisableAsync(Actor admin, string clientId, string? ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        return ChangeAsync(clientId, async (change, client) =>
        {
            if (client.Disabled)
            {
                return client;
            }

            var disabled = client with { DisabledAt = change.Now };
            await change.Transaction.ServiceClients.UpdateAsync(disabled, cancellationToken).ConfigureAwait(false);
            change.Audit(AuditActions.ClientDisabled, admin, client.Id, ipAddress);
            change.ClientChanged(client.Id);
            return disabled;
        }, cancellationToken);
    }

    /// <summary>
    /// Checks a client's id and secret against the client as the store has it (through <see cref="ServiceClientCache"/>,
    /// which every node drops its copy from before a disable or a rotation returns). Failures from one address are counted and, past <see cref="RateLimitingOptions.FailedClientAuthenticationsBeforeBackoff"/>,
    /// make every attempt from it wait, checked before the secret so that a throttled attempt learns nothing.
    /// </summary>
    public async Task<ClientAuthentication> AuthenticateAsync(string? clientId, string? secret, string? ipAddress, CancellationToken cancellationToken)
    {
        var addressKey = "ip:" + ClientAddress.ThrottleKey(ipAddress ?? "unknown");
        var decision = await throttle.TryAttemptAsync(ThrottledAction.ClientAuthentication, ipAddress ?? "unknown", addressKey, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            return new ClientAuthentication(null, decision.RetryAfter);
        }

        ServiceClient? client = null;
        if (Ids.CanExist(clientId) && SecretTokens.TryHash(secret, out var presented))
        {
            client = await FindAsync(clientId, cancellationToken).ConfigureAwait(false);
            if (client is not null && !Accepts(client, presented, clock.GetUtcNow()))
            {
                client = null;
            }
        }

        if (client is null)
        {
            await throttle.RecordFailureAsync(ThrottledAction.ClientAuthentication, addressKey, cancellationToken).ConfigureAwait(false);
            return ClientAuthentication.Refused;
        }

        return new ClientAuthentication(client, null);
    }

    /// <summary>
    /// The session behind a token and its user when it holds, by the same check as every request (cache, rule, the user's
    /// state), or null. A relying app's check is use of the session: it moves last-active and so slides the idle timeout.
    /// </summary>
    /// <remarks>
    /// <see cref="Introspection.Disclosed"/> is false for a session created through another client than
    /// <paramref name="client"/>: that client may learn that the token holds, not whose it is (docs/security.md).
    /// </remarks>
    public async Task<Introspection?> IntrospectAsync(ServiceClient client, string? token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var check = await validator.CheckAsync(token, SessionUse.Activity, cancellationToken).ConfigureAwait(false);
        if (!check.Holds || check.Entry is not { } entry)
        {
            return null;
        }

        // CachedSession.Session makes the record on each read: once here.
        var session = entry.Session;
        var lastActiveAt = entry.LastActiveAt;
        return new Introspection(
            new ActiveSession(session, lastActiveAt, session.ExpiresAt(lastActiveAt, _idleTimeout)), entry.User.User,
            Disclosed: MayActOn(client, session));
    }

    /// <summary>
    /// Ends the session behind a token (reason <c>token_revoked</c>, the client as actor) through <see cref="AccessChanges"/>,
    /// like a user's own revoke: audited and invalidated on every node before this returns. A token that names no
    /// session, or one already ended, changes nothing (RFC 7009: the answer is the same). A session created through
    /// another client is not this client's to end: <see cref="TokenRevocation.OtherClientsSession"/>, and nothing changes.
    /// </summary>
    public async Task<TokenRevocation> RevokeTokenAsync(ServiceClient client, string? token, string? ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var check = await validator.CheckAsync(token, SessionUse.Watch, cancellationToken).ConfigureAwait(false);
        if (check.Entry is not CachedSession entry || entry.IsRevoked)
        {
            return TokenRevocation.NothingToEnd;
        }

        var session = entry.Session;
        if (!MayActOn(client, session))
        {
            return TokenRevocation.OtherClientsSession;
        }

        var revoked = await changes.ApplyAsync(
            change => change.RevokeSessionsAsync(session.UserId, RevocationScope.Only(session.Id), RevocationReason.TokenRevoked,
                new Actor(ActorKind.Client, client.Id), ipAddress, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return revoked.Count > 0 ? TokenRevocation.Revoked : TokenRevocation.NothingToEnd;
    }

    /// <summary>The names of the clients with <paramref name="clientIds"/>; unknown ids are left out.</summary>
    public async Task<IReadOnlyDictionary<string, string>> NamesAsync(IEnumerable<string?> clientIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clientIds);
        var wanted = clientIds.OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (wanted.Count == 0)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        // A list names a few clients at most; each is usually the node's copy, so a session's answer reads no client row.
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in wanted)
        {
            if (await FindAsync(id, cancellationToken).ConfigureAwait(false) is { } client)
            {
                names[id] = client.Name;
            }
        }

        return names;
    }

    /// <summary>A client may see and end sessions made directly (Tessera's own) and those created through itself.</summary>
    private static bool MayActOn(ServiceClient client, Session session) =>
        session.ClientId is null || string.Equals(session.ClientId, client.Id, StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="client"/> as read now lets in the secret whose hash is <paramref name="presented"/>: not
    /// disabled, and the current secret or the previous one within its overlap. A connection that stays open (a revocation
    /// stream) asks again as it reads the client again.
    /// </summary>
    public static bool Accepts(ServiceClient client, TokenHash presented, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client.Disabled)
        {
            return false;
        }

        // The hashes of high-entropy secrets, compared in fixed time all the same; the previous secret only within its overlap.
        var given = presented.ToArray();
        var current = CryptographicOperations.FixedTimeEquals(given, client.SecretHash.ToArray());
        var previous = client.PreviousSecretHash is { } old && client.PreviousSecretExpiresAt is { } end && now < end
            && CryptographicOperations.FixedTimeEquals(given, old.ToArray());
        return current | previous;
    }

    private static string[] CheckScopes(IReadOnlyList<string?>? scopes)
    {
        if (scopes is null || scopes.Count == 0)
        {
            throw TesseraException.Validation("scopes", $"scopes must name at least one of {string.Join(", ", ClientScopes.All)}.");
        }

        if (scopes.Any(scope => scope is null || !ClientScopes.All.Contains(scope, StringComparer.Ordinal)))
        {
            throw TesseraException.Validation("scopes", $"scopes may only name {string.Join(", ", ClientScopes.All)}.");
        }

        return [.. ClientScopes.All.Where(scope => scopes.Contains(scope, StringComparer.Ordinal))];
    }

    /// <summary>The client from the node's copy when it may be used, else from the store (and kept).</summary>
    private async Task<ServiceClient?> FindAsync(string clientId, CancellationToken cancellationToken)
    {
        if (cache.TryGet(clientId, out var cached))
        {
            return cached;
        }

        var epoch = cache.Epoch;
        ServiceClient? client;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            client = await read.ServiceClients.FindByIdAsync(clientId, cancellationToken).ConfigureAwait(false);
        }

        if (client is not null)
        {
            cache.Add(client, epoch);
        }

        return client;
    }

    private async Task<T> ChangeAsync<T>(string clientId, Func<AccessChange, ServiceClient, Task<T>> change, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(clientId))
        {
            throw TesseraException.NotFound("The client");
        }

        return await changes.ApplyAsync(async context =>
        {
            var client = await context.Transaction.ServiceClients.FindByIdAsync(clientId, cancellationToken).ConfigureAwait(false)
                ?? throw TesseraException.NotFound("The client");
            return await change(context, client).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
