using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Accounts;
using Tessera.Core.Audit;
using Tessera.Core.Devices;
using Tessera.Core.Diagnostics;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Core.ExternalLogin;

/// <summary>What an OpenID Connect provider vouched for at the callback, once its handler checked state, nonce, PKCE and the ID token.</summary>
/// <param name="Provider">The provider's configured name.</param>
/// <param name="ProviderDisplayName">Its name as people see it ("Google"), for messages.</param>
/// <param name="Subject">The ID token's <c>sub</c>.</param>
/// <param name="Email">The <c>email</c> claim, if any.</param>
/// <param name="EmailVerified">The <c>email_verified</c> claim: only then may a first sign-in join an existing account by email.</param>
/// <param name="Name">The <c>name</c> claim, the new account's display name.</param>
/// <param name="ProtectedRefreshToken">The provider's refresh token, already protected; null unless offline access was asked for.</param>
/// <param name="AllowNewAccounts">Whether a first sign-in with no account to join makes one (registration open).</param>
public sealed record ExternalSignInRequest(
    string Provider,
    string ProviderDisplayName,
    string Subject,
    string? Email,
    bool EmailVerified,
    string? Name,
    string? ProtectedRefreshToken,
    bool AllowNewAccounts,
    DeviceDescription? Device,
    string? UserAgent,
    string? IpAddress);

/// <summary>
/// A person signing in through an OpenID Connect provider: the provider's handler has only produced an identity; this
/// finds (or links, or makes) the account and applies the one sign-in rule (<see cref="SignInRule"/>) inside the write
/// that would create the session. A refusal leaves no session row, no link and no account, and is audited as a failed
/// login naming the provider.
/// </summary>
public sealed class ExternalSignIn(
    AccessChanges changes,
    DeviceResolver devices,
    IProviderTokenRevoker providerTokens,
    TesseraMetrics metrics,
    TimeProvider clock,
    IOptions<TesseraOptions> options)
{
    /// <summary>
    /// How long a loopback flow's one-time code can be exchanged: the client is already listening when the browser
    /// arrives, so a minute is ample, and a code that leaks (a browser history, a log) is soon worth nothing.
    /// </summary>
    public static readonly TimeSpan LoopbackCodeLifetime = TimeSpan.FromSeconds(60);

    /// <summary>How long the row of a used or expired code stays, so that a late replay is still told apart from a code never issued.</summary>
    public static readonly TimeSpan LoopbackCodeRetention = TimeSpan.FromHours(1);

    private readonly TesseraOptions _options = options.Value;

    /// <summary>The browser flow: a session at once, for the browser that came back from the provider.</summary>
    public Task<LoginResult> SignInAsync(ExternalSignInRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var device = devices.Resolve(request.Device, request.UserAgent);
        return DecideAsync(
            request,
            (change, user) => CreateSessionAsync(change, user, request.Provider, device, request.IpAddress, cancellationToken),
            cancellationToken);
    }

    /// <summary>
    /// The native loopback flow (RFC 8252), at the provider's callback: the same account, link and rule as
    /// <see cref="SignInAsync"/>, but instead of a session a one-time code bound to the client's PKCE challenge, which only
    /// the client that holds the verifier can exchange (<see cref="ExchangeLoopbackCodeAsync"/>) for a session on its device.
    /// </summary>
    /// <returns>The code, for the redirect to the client's loopback address; Tessera keeps only its SHA-256.</returns>
    public Task<string> IssueLoopbackCodeAsync(ExternalSignInRequest request, string codeChallenge, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(codeChallenge);
        return DecideAsync(
            request,
            async (change, user) =>
            {
                var code = SecretTokens.Create(out var hash);
                await change.Transaction.LoopbackCodes.InsertAsync(
                    new LoopbackCode(hash, user.Id, request.Provider, codeChallenge, change.Now, change.Now + LoopbackCodeLifetime, UsedAt: null),
                    change.Now - LoopbackCodeRetention,
                    cancellationToken).ConfigureAwait(false);
                return code;
            },
            cancellationToken);
    }

    /// <summary>
    /// The native client's exchange of its one-time code and PKCE verifier for a session on its device. The code is spent
    /// by the first exchange whatever its outcome (a wrong verifier included: whoever intercepted a code gets one try, and
    /// the client then starts again). The one rule is asked again here: the account may have been deactivated, banned or
    /// deleted since the callback. A replay of a code is refused and ends the session its first exchange made
    /// (<see cref="RevocationReason.SignInCodeReplayed"/>).
    /// </summary>
    public async Task<LoginResult> ExchangeLoopbackCodeAsync(LoopbackExchange exchange, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        if (string.IsNullOrEmpty(exchange.Code) || !SecretTokens.TryHash(exchange.Code, out var hash))
        {
            throw new TesseraException(ErrorCodes.ExternalCodeInvalid, "This sign-in code is not one Tessera issued. Start signing in again.");
        }

        if (!Pkce.IsWellFormedVerifier(exchange.CodeVerifier))
        {
            throw TesseraException.Validation("codeVerifier", "codeVerifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636).");
        }

        var device = devices.Resolve(exchange.Device, exchange.UserAgent);
        var (result, refusal, code) = await changes.ApplyAsync<(LoginResult?, TesseraException?, LoopbackCode?)>(
            async change =>
            {
                // Every refusal below is returned, not thrown: the code must stay spent, so this write commits.
                var found = await change.Transaction.LoopbackCodes.ConsumeAsync(hash, change.Now, cancellationToken).ConfigureAwait(false);
                if (found is null)
                {
                    return (null, new TesseraException(ErrorCodes.ExternalCodeInvalid, "This sign-in code is not one Tessera issued. Start signing in again."), null);
                }

                if (found.UsedAt is not null)
                {
                    // A replay (RFC 6749 section 4.1.2: deny it, and revoke what the code gave): the code has been in two
                    // hands, and nothing tells which one is the person's, so the session its first exchange made ends,
                    // with its own reason, in this write. A session already ended is left as it is (nothing is written).
                    if (found.SessionId is { } replayed)
                    {
                        await change.RevokeSessionsAsync(found.UserId, RevocationScope.Only(replayed), RevocationReason.SignInCodeReplayed,
                            Actor.System, exchange.IpAddress, cancellationToken).ConfigureAwait(false);
                    }

                    return (null, new TesseraException(ErrorCodes.ExternalCodeUsed, "This sign-in code has already been used. Start signing in again."), found);
                }

                if (found.ExpiresAt <= change.Now)
                {
                    return (null, new TesseraException(ErrorCodes.ExternalCodeExpired,
                        $"This sign-in code expired; it can be used for {LoopbackCodeLifetime.TotalSeconds:0} seconds. Start signing in again."), found);
                }

                if (!Pkce.Matches(exchange.CodeVerifier!, found.CodeChallenge))
                {
                    return (null, new TesseraException(ErrorCodes.ExternalCodeVerifierMismatch,
                        "The code verifier does not match the challenge this sign-in started with. Start signing in again."), found);
                }

                var user = await change.Transaction.Users.FindByIdAsync(found.UserId, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"The loopback code of '{found.Provider}' names no user.");
                try
                {
                    // The one rule again, on the row read in this write: the person may have been stopped since the callback.
                    SignInRule.ThrowIfCannotSignIn(user, change.Now);
                }
                catch (TesseraException stopped)
                {
                    return (null, stopped, found);
                }

                var signedIn = await CreateSessionAsync(change, user, found.Provider, device, exchange.IpAddress, cancellationToken).ConfigureAwait(false);
                await change.Transaction.LoopbackCodes.RecordSessionAsync(hash, signedIn.Session.Id, cancellationToken).ConfigureAwait(false);
                return (signedIn, null, found);
            },
            cancellationToken).ConfigureAwait(false);

        if (refusal is not null)
        {
            await FailLoginAsync(code?.UserId, code?.Provider ?? "loopback", exchange.IpAddress, refusal.Code, cancellationToken).ConfigureAwait(false);
            throw refusal;
        }

        return result!;
    }

    /// <summary>
    /// Finds, links or makes the account and applies the one rule inside the write, then <paramref name="then"/> in the
    /// same write; a refusal is audited as a failed login naming the provider, and a refresh token the provider has just
    /// given for a person who is refused is revoked at once (it is never kept).
    /// </summary>
    private async Task<T> DecideAsync<T>(ExternalSignInRequest request, Func<AccessChange, User, Task<T>> then, CancellationToken cancellationToken)
    {
        string? refusedUserId = null;
        try
        {
            return await changes.ApplyAsync(
                async change =>
                {
                    var (user, link, isNewLink) = await FindOrMakeAccountAsync(change, request, id => refusedUserId = id, cancellationToken).ConfigureAwait(false);

                    // The one rule, on the row read in this write: a ban or deactivation committed before it wins.
                    SignInRule.ThrowIfCannotSignIn(user, change.Now);
                    await SaveLinkAsync(change, request, user, link, isNewLink, cancellationToken).ConfigureAwait(false);
                    return await then(change, user).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (TesseraException refusal) when (refusal.Code is not ErrorCodes.RateLimited)
        {
            await FailLoginAsync(refusedUserId, request.Provider, request.IpAddress, refusal.Code, cancellationToken).ConfigureAwait(false);
            if (request.ProtectedRefreshToken is { } fresh)
            {
                // Offline access was asked and the provider gave a token for someone who may not come in: nothing keeps
                // it, so it would live on at the provider unseen. Revoked now, and audited like every other revocation.
                await providerTokens.RevokeAsync(
                    [new ExternalIdentity
                    {
                        Provider = request.Provider,
                        Subject = request.Subject,
                        UserId = refusedUserId ?? "",
                        LinkedAt = clock.GetUtcNow(),
                        ProtectedRefreshToken = fresh,
                    }],
                    "sign_in_refused",
                    CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }
    }

    private async Task<(User User, ExternalIdentity Link, bool IsNewLink)> FindOrMakeAccountAsync(
        AccessChange change, ExternalSignInRequest request, Action<string> found, CancellationToken cancellationToken)
    {
        var transaction = change.Transaction;
        var link = await transaction.ExternalIdentities.FindAsync(request.Provider, request.Subject, cancellationToken).ConfigureAwait(false);
        if (link is not null)
        {
            found(link.UserId);

            // A link outlives its user's deletion: a deleted account is found here and refused, never made again.
            var linked = await transaction.Users.FindByIdAsync(link.UserId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The link of '{request.Subject}' at '{request.Provider}' names no user.");
            return (linked, link, false);
        }

        var email = NormalizedEmailOrNull(request.Email);
        var byEmail = email is null ? null : await transaction.Users.FindByEmailAsync(email, cancellationToken).ConfigureAwait(false);
        var newLink = new ExternalIdentity
        {
            Provider = request.Provider,
            Subject = request.Subject,
            UserId = byEmail?.Id ?? Ids.NewUserId(clock),
            Email = email,
            LinkedAt = change.Now,
        };
        if (byEmail is not null)
        {
            found(byEmail.Id);
            if (!request.EmailVerified)
            {
                // Anyone can type any address at some providers: an unverified one never reaches an account.
                throw new TesseraException(ErrorCodes.ExternalEmailUnverified,
                    $"An account with this email already exists, and {request.ProviderDisplayName} has not verified the address. " +
                    $"Sign in with your password, then link {request.ProviderDisplayName} from your account page.");
            }

            return (byEmail, newLink, true);
        }

        if (!request.AllowNewAccounts)
        {
            throw new TesseraException(ErrorCodes.ExternalRegistrationClosed,
                $"No account is linked to this {request.ProviderDisplayName} sign-in, and new accounts cannot be made this way. " +
                "Sign in with your password, then link it from your account page.");
        }

        if (email is null)
        {
            throw new TesseraException(ErrorCodes.ExternalEmailMissing,
                $"{request.ProviderDisplayName} did not share a valid email address, which a new account needs.");
        }

        if (!request.EmailVerified)
        {
            // An account made on an address its owner never proved would be theirs to claim later, pre-set by whoever
            // typed it at the provider (account pre-hijacking): a new account takes a verified address only.
            throw new TesseraException(ErrorCodes.ExternalEmailUnverified,
                $"{request.ProviderDisplayName} has not verified this email address, which a new account needs. " +
                $"Verify it at {request.ProviderDisplayName}, or register with a password.");
        }

        var user = new User
        {
            Id = newLink.UserId,
            Email = email,
            DisplayName = AccountInput.ValidateDisplayName(request.Name?.Trim() is { Length: > 0 and <= 100 } name ? name : null)
                ?? email[..email.IndexOf('@', StringComparison.Ordinal)],
            // No password: this account signs in through its provider until the person sets one (a reset).
            PasswordHash = null,
            CreatedAt = change.Now,
            UpdatedAt = change.Now,
        };
        if (!await transaction.Users.InsertAsync(user, cancellationToken).ConfigureAwait(false))
        {
            throw new TesseraException(ErrorCodes.EmailTaken, "An account with this email already exists.");
        }

        change.Audit(AuditActions.UserRegistered, new Actor(ActorKind.User, user.Id), user.Id, request.IpAddress,
            reason: request.Provider);
        found(user.Id);
        return (user, newLink, true);
    }

    private static async Task SaveLinkAsync(
        AccessChange change, ExternalSignInRequest request, User user, ExternalIdentity link, bool isNewLink, CancellationToken cancellationToken)
    {
        var transaction = change.Transaction;
        var used = link with
        {
            LastUsedAt = change.Now,
            // A new refresh token replaces the old one (the provider may have rotated it); none asked for keeps what is kept.
            ProtectedRefreshToken = request.ProtectedRefreshToken ?? link.ProtectedRefreshToken,
        };
        if (isNewLink)
        {
            if (!await transaction.ExternalIdentities.InsertAsync(used, cancellationToken).ConfigureAwait(false))
            {
                // The same person's first sign-in twice at once: the other one linked it; this one may simply try again.
                throw new TesseraException(ErrorCodes.ExternalLoginFailed, "This sign-in was completed elsewhere a moment ago; try again.");
            }

            change.Audit(AuditActions.ExternalLinked, new Actor(ActorKind.User, user.Id), user.Id, request.IpAddress,
                reason: request.Provider);
        }
        else
        {
            await transaction.ExternalIdentities.UpdateAsync(used, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<LoginResult> CreateSessionAsync(
        AccessChange change, User user, string provider, DeviceInfo device, string? ipAddress, CancellationToken cancellationToken)
    {
        var (session, token) = Session.Begin(user.Id, device, ipAddress, clientId: null, change.Now, _options.Sessions.AbsoluteLifetime, clock);
        await change.Transaction.Sessions.InsertAsync(session, cancellationToken).ConfigureAwait(false);
        change.Audit(AuditActions.SessionCreated, new Actor(ActorKind.User, user.Id), user.Id, ipAddress,
            reason: provider, sessionIds: [session.Id]);
        return new LoginResult(token, session, user);
    }

    /// <summary>Audited like a refused password login, with the provider beside the code (<c>account_banned via google</c>).</summary>
    private async Task FailLoginAsync(string? userId, string provider, string? ipAddress, string code, CancellationToken cancellationToken)
    {
        metrics.LoginFailed();
        await changes.ApplyAsync(
            change =>
            {
                change.Audit(AuditActions.LoginFailed, new Actor(ActorKind.User, null), userId, ipAddress, $"{code} via {provider}");
                return Task.FromResult(0);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static string? NormalizedEmailOrNull(string? email)
    {
        try
        {
            return string.IsNullOrWhiteSpace(email) ? null : AccountInput.ValidateEmail(email);
        }
        catch (TesseraException)
        {
            return null;
        }
    }
}
