using System.Diagnostics;
using System.Globalization;
using CsCheck;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Core.Tests.Properties;

/// <summary>
/// Random sequences of what people and admins do, run against the real services over SQLite, next to a model that
/// applies the rule of DESIGN.md on its own: after every step, every token ever issued must be judged by the
/// validator exactly as the model judges it, and every refusal must be the one the model expects.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class SessionRulePropertyTests
{
    /// <summary>Short, so that random clock steps cross them often.</summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(30);

    internal static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(3);

    private const int Samples = 200;

    private static readonly Gen<Scenario> Scenarios =
        from users in Gen.Int[2, 3]
        from operations in Operation(users).Array[1, 40]
        select new Scenario(users, operations);

    [Fact]
    public async Task Every_token_holds_exactly_when_the_rule_says_so_whatever_people_and_admins_do()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper;
        var time = Stopwatch.StartNew();

        await Scenarios.SampleAsync(
            scenario => ScenarioRun.RunAsync(scenario, cancellationToken),
            writeLine: line => output?.WriteLine(line),
            // CsCheck_Seed reproduces a failure; CsCheck_Iter or CsCheck_Time (set in the environment) run longer,
            // which also gives a failure more tries to shrink.
            iter: Environment.GetEnvironmentVariable("CsCheck_Iter") is null && Environment.GetEnvironmentVariable("CsCheck_Time") is null ? Samples : -1,
            print: scenario => scenario.ToString());

        output?.WriteLine($"Scenarios ran in {time.Elapsed.TotalSeconds:F1} s");
        output?.WriteLine(ScenarioRun.Coverage.Report());

        // A property that never reached a case proves nothing about it.
        foreach (var kind in Enum.GetValues<SessionVerdictKind>().Where(k => k != SessionVerdictKind.Unauthenticated))
        {
            Assert.True(ScenarioRun.Coverage.Count($"verdict {kind}") > 0, $"No check ever answered {kind}.");
        }

        foreach (var outcome in new[] { "Login refused account_banned", "Login refused account_deactivated", "Login refused invalid_credentials",
            "RevokeOne refused not_found", "Ban refused user_deleted", "Ban refused validation_failed", "ChangePassword done", "Flush done" })
        {
            Assert.True(ScenarioRun.Coverage.Count(outcome) > 0, $"No step ever ended as '{outcome}'.");
        }
    }

    private static Gen<Operation> Operation(int users)
    {
        var user = Gen.Int[0, users - 1];

        // Which of the sessions issued so far (modulo their number): the run skips the step when there are none.
        var session = Gen.Int[0, 15];
        var minutes = Gen.Frequency(
            (4, Gen.Int[1, 10]),
            (2, Gen.Int[25, 35]),
            (1, Gen.Int[60, 200]));
        var banEnd = Gen.Frequency(
            (2, Gen.Const((int?)null)),
            (4, Gen.Int[1, 120].Select(m => (int?)m)),
            (1, Gen.Const((int?)0)));

        return Gen.Frequency(
            (6, user.Select(u => (Operation)new Login(u))),
            (2, session.Select(s => (Operation)new Logout(s))),
            (2, session.Select(s => (Operation)new RevokeOthers(s))),
            (1, session.Select(s => (Operation)new RevokeAll(s))),
            (2, Gen.Select(user, session, (u, s) => (Operation)new RevokeOne(u, s))),
            (2, user.Select(u => (Operation)new Deactivate(u))),
            (2, user.Select(u => (Operation)new Reactivate(u))),
            (2, Gen.Select(user, banEnd, (u, m) => (Operation)new Ban(u, m))),
            (2, user.Select(u => (Operation)new Unban(u))),
            (2, session.Select(s => (Operation)new ChangePassword(s))),
            (1, user.Select(u => (Operation)new Delete(u))),
            (5, minutes.Select(m => (Operation)new AdvanceClock(m))),
            (2, session.Select(s => (Operation)new Check(s))),
            (1, Gen.Const((Operation)new Flush())));
    }
}

internal sealed record Scenario(int Users, IReadOnlyList<Operation> Operations)
{
    public override string ToString() =>
        $"{Users} users, {Operations.Count} steps: " + string.Join(", ", Operations.Select((o, i) => $"{i + 1}.{o}"));
}

internal abstract record Operation
{
    /// <summary>The session a step names, as a pick among the sessions issued so far (taken modulo their number).</summary>
    public virtual int? SessionPick => null;
}

internal sealed record Login(int User) : Operation
{
    public override string ToString() => $"Login(u{User})";
}

internal sealed record Logout(int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"Logout(s{Session})";
}

internal sealed record RevokeOthers(int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"RevokeOthers(s{Session})";
}

internal sealed record RevokeAll(int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"RevokeAll(s{Session})";
}

internal sealed record RevokeOne(int User, int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"AdminRevokeOne(u{User}, s{Session})";
}

internal sealed record Deactivate(int User) : Operation
{
    public override string ToString() => $"Deactivate(u{User})";
}

internal sealed record Reactivate(int User) : Operation
{
    public override string ToString() => $"Reactivate(u{User})";
}

internal sealed record Ban(int User, int? UntilMinutes) : Operation
{
    public override string ToString() => UntilMinutes is { } m ? $"Ban(u{User}, +{m} min)" : $"Ban(u{User})";
}

internal sealed record Unban(int User) : Operation
{
    public override string ToString() => $"Unban(u{User})";
}

internal sealed record ChangePassword(int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"ChangePassword(s{Session})";
}

internal sealed record Delete(int User) : Operation
{
    public override string ToString() => $"Delete(u{User})";
}

internal sealed record AdvanceClock(int Minutes) : Operation
{
    public override string ToString() => $"Advance({Minutes} min)";
}

internal sealed record Check(int Session) : Operation
{
    public override int? SessionPick => Session;

    public override string ToString() => $"Check(s{Session})";
}

/// <summary>What the background flusher does on each tick: write last-active times, sweep dead cache entries.</summary>
internal sealed record Flush : Operation
{
    public override string ToString() => "FlushAndSweep";
}

/// <summary>How often each step outcome and each verdict came up over a property run.</summary>
internal sealed class Coverage
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public void Add(string what) => _counts.AddOrUpdate(what, 1, (_, n) => n + 1);

    public int Count(string what) => _counts.GetValueOrDefault(what);

    public string Report() => string.Join(Environment.NewLine, _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"));
}

/// <summary>One scenario against one fresh Tessera, with the model beside it.</summary>
internal sealed class ScenarioRun
{
    public static Coverage Coverage { get; } = new();

    private static readonly TimeSpan Idle = SessionRulePropertyTests.IdleTimeout;
    private static readonly TimeSpan Absolute = SessionRulePropertyTests.AbsoluteLifetime;

    private readonly CoreHarness _tessera;
    private readonly Actor _admin;
    private readonly List<ModelUser> _users;
    private readonly List<ModelSession> _sessions = [];
    private readonly CancellationToken _cancellationToken;
    private int _passwords;
    private string _step = "setup";
    private string _outcome = "done";

    private ScenarioRun(CoreHarness tessera, Actor admin, List<ModelUser> users, CancellationToken cancellationToken)
    {
        _tessera = tessera;
        _admin = admin;
        _users = users;
        _cancellationToken = cancellationToken;
    }

    private DateTimeOffset Now => _tessera.Clock.GetUtcNow();

    public static async Task RunAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        await using var tessera = await CoreHarness.StartAsync(
            o =>
            {
                o.Sessions.IdleTimeout = Idle;
                o.Sessions.AbsoluteLifetime = Absolute;

                // Deleted users fail to sign in on every try: the per-account backoff is not what this property is about.
                o.RateLimiting.FailedLoginsBeforeBackoff = 1_000_000;
            },
            cancellationToken: cancellationToken);
        var (_, admin) = await tessera.CreateAdminAsync(cancellationToken: cancellationToken);
        var users = new List<ModelUser>();
        for (var i = 0; i < scenario.Users; i++)
        {
            var password = $"initial quartz lantern {i}";
            var user = await tessera.RegisterAsync($"user{i}@example.com", password, cancellationToken);
            users.Add(new ModelUser(i, user.Id, user.Email, password));
        }

        var run = new ScenarioRun(tessera, admin, users, cancellationToken);
        for (var i = 0; i < scenario.Operations.Count; i++)
        {
            var operation = scenario.Operations[i];
            var target = operation.SessionPick is { } pick && run.Pick(pick) is { } picked ? $" on {picked}" : string.Empty;
            run._step = $"step {i + 1} ({operation}{target}) at +{Minutes(run.Now)} min";
            run._outcome = "done";
            await run.ApplyAsync(operation);
            Coverage.Add($"{operation.GetType().Name} {run._outcome}");
            await run.CheckEveryTokenAsync();
        }
    }

    private async Task ApplyAsync(Operation operation)
    {
        switch (operation)
        {
            case Login(var u):
                await LoginAsync(_users[u]);
                break;
            case Logout(var s):
                await AsHolderAsync(s, async (session, entry) =>
                {
                    await _tessera.SignOut.LogoutAsync(entry, "192.0.2.1", _cancellationToken);
                    Revoke(session.User, RevocationReason.SignedOut, only: session);
                });
                break;
            case RevokeOthers(var s):
                await AsHolderAsync(s, async (session, _) =>
                {
                    var revoked = await _tessera.Sessions.RevokeAsync(session.User.Id, RevocationScope.AllExcept(session.Id),
                        RevocationReason.SignedOutOtherDevices, new Actor(ActorKind.User, session.User.Id), "192.0.2.1", _cancellationToken);
                    AssertCount(Revoke(session.User, RevocationReason.SignedOutOtherDevices, except: session), revoked, "sessions revoked");
                });
                break;
            case RevokeAll(var s):
                await AsHolderAsync(s, async (session, _) =>
                {
                    var revoked = await _tessera.Sessions.RevokeAsync(session.User.Id, RevocationScope.All,
                        RevocationReason.SignedOutAllDevices, new Actor(ActorKind.User, session.User.Id), "192.0.2.1", _cancellationToken);
                    AssertCount(Revoke(session.User, RevocationReason.SignedOutAllDevices), revoked, "sessions revoked");
                });
                break;
            case RevokeOne(var u, var s):
                await AdminRevokeOneAsync(_users[u], Pick(s));
                break;
            case Deactivate(var u):
                await AdminChangeAsync(_users[u], null, RevocationReason.UserDeactivated,
                    () => _tessera.Admin.DeactivateAsync(_admin, _users[u].Id, "property", null, _cancellationToken),
                    user => user.Status = UserStatus.Deactivated);
                break;
            case Reactivate(var u):
                await AdminChangeAsync(_users[u], null, null,
                    () => _tessera.Admin.ReactivateAsync(_admin, _users[u].Id, null, _cancellationToken),
                    user => user.Status = UserStatus.Active);
                break;
            case Ban(var u, var minutes):
                var until = minutes is { } m ? Now + TimeSpan.FromMinutes(m) : (DateTimeOffset?)null;
                await AdminChangeAsync(_users[u], minutes == 0 ? ErrorCodes.ValidationFailed : null, RevocationReason.UserBanned,
                    () => _tessera.Admin.BanAsync(_admin, _users[u].Id, "property", until, null, _cancellationToken),
                    user => (user.Banned, user.BannedUntil) = (true, until));
                break;
            case Unban(var u):
                await AdminChangeAsync(_users[u], null, null,
                    () => _tessera.Admin.UnbanAsync(_admin, _users[u].Id, null, _cancellationToken),
                    user => (user.Banned, user.BannedUntil) = (false, null));
                break;
            case ChangePassword(var s):
                await AsHolderAsync(s, async (session, entry) =>
                {
                    var newPassword = $"changed violet harbor {++_passwords}";
                    await _tessera.PasswordChange.ChangePasswordAsync(entry, session.User.Password, newPassword, "192.0.2.1", _cancellationToken);
                    session.User.Password = newPassword;
                    Revoke(session.User, RevocationReason.PasswordChanged, except: session);
                });
                break;
            case Delete(var u):
                await AdminDeleteAsync(_users[u]);
                break;
            case AdvanceClock(var minutes):
                _tessera.Clock.Advance(TimeSpan.FromMinutes(minutes));
                break;
            case Check(var s):
                if (Pick(s) is { } checkedSession)
                {
                    await CheckAsync(checkedSession, "the check");
                }
                else
                {
                    _outcome = "skipped (no session)";
                }

                break;
            case Flush:
                await FlushAsync();
                break;
            default:
                throw new UnreachableException(operation.ToString());
        }
    }

    private async Task LoginAsync(ModelUser user)
    {
        var now = Now;
        string? refusal = user.Status switch
        {
            // Deletion replaces the email: the old one names nobody any more.
            UserStatus.Deleted => ErrorCodes.InvalidCredentials,
            UserStatus.Deactivated => ErrorCodes.AccountDeactivated,
            _ when user.IsBannedAt(now) => ErrorCodes.AccountBanned,
            _ => null,
        };

        try
        {
            var login = await _tessera.LoginAsync(user.Email, user.Password, cancellationToken: _cancellationToken);
            Expect(refusal is null, $"the login of {user} succeeded, but the model expected {refusal}");
            Expect(login.Session.AbsoluteExpiresAt == now + Absolute, $"the new session ends at {login.Session.AbsoluteExpiresAt:O}");
            _sessions.Add(new ModelSession(_sessions.Count, login.Session.Id, login.Token, user, now));
        }
        catch (TesseraException refused)
        {
            ExpectRefusal(refusal, refused, $"the login of {user}");
        }
    }

    /// <summary>A user's own action through one of their sessions: only possible while the session holds.</summary>
    private async Task AsHolderAsync(int index, Func<ModelSession, CachedSession, Task> action)
    {
        if (Pick(index) is not { } session)
        {
            _outcome = "skipped (no session)";
            return;
        }

        var check = await CheckAsync(session, "the check before acting");
        if (check.Holds)
        {
            await action(session, check.Entry!);
        }
        else
        {
            _outcome = "skipped (session does not hold)";
        }
    }

    private async Task AdminRevokeOneAsync(ModelUser user, ModelSession? session)
    {
        if (session is null)
        {
            _outcome = "skipped (no session)";
            return;
        }

        // A session past its idle end is no longer live either: ending it is not_found, like an unknown id.
        var live = session.User == user && session.Revoked is null && Now < session.AbsoluteExpiresAt && Now < session.LastActiveAt + Idle;
        try
        {
            await _tessera.Admin.RevokeSessionAsync(_admin, user.Id, session.Id, null, _cancellationToken);
            Expect(live, $"the admin revoked {session} through {user}, but the model expected not_found");
            Revoke(user, RevocationReason.RevokedByAdmin, only: session);
        }
        catch (TesseraException refused)
        {
            ExpectRefusal(live ? null : ErrorCodes.NotFound, refused, $"the admin revoking {session} through {user}");
        }
    }

    private async Task AdminChangeAsync(
        ModelUser user, string? invalid, RevocationReason? revokes, Func<Task<UserChangeResult>> change, Action<ModelUser> apply)
    {
        var refusal = invalid ?? (user.Status == UserStatus.Deleted ? ErrorCodes.UserDeleted : null);
        try
        {
            var result = await change();
            Expect(refusal is null, $"the change of {user} succeeded, but the model expected {refusal}");
            apply(user);
            var revoked = revokes is { } reason ? Revoke(user, reason) : 0;
            AssertCount(revoked, result.RevokedSessions, "sessions revoked");
        }
        catch (TesseraException refused)
        {
            ExpectRefusal(refusal, refused, $"the change of {user}");
        }
    }

    private async Task AdminDeleteAsync(ModelUser user)
    {
        // Deleting a deleted user is not an error: it is already done.
        var result = await _tessera.Admin.DeleteAsync(_admin, user.Id, null, _cancellationToken);
        var revoked = 0;
        if (user.Status != UserStatus.Deleted)
        {
            (user.Status, user.Banned, user.BannedUntil) = (UserStatus.Deleted, false, null);
            revoked = Revoke(user, RevocationReason.UserDeleted);
        }

        AssertCount(revoked, result.RevokedSessions, "sessions revoked");
    }

    private async Task FlushAsync()
    {
        await _tessera.Activity.FlushAsync(_tessera.Store, _cancellationToken);
        _tessera.Cache.Sweep(Now, Idle);

        // Written behind, but written: every live session's stored last-active time has caught up with its use.
        foreach (var session in _sessions.Where(s => s.Revoked is null))
        {
            var stored = await _tessera.ReadStoredSessionAsync(session.Id, _cancellationToken);
            Expect(stored?.LastActiveAt == session.LastActiveAt,
                $"after the flush, {session} has last_active_at {stored?.LastActiveAt:O} in the store");
        }
    }

    private async Task CheckEveryTokenAsync()
    {
        foreach (var session in _sessions)
        {
            await CheckAsync(session, "the check after the step");
        }
    }

    /// <summary>Checks one token and compares the verdict with the model's; a session that holds was just used.</summary>
    private async Task<SessionCheck> CheckAsync(ModelSession session, string what)
    {
        var now = Now;
        var expected = Expected(session, now);
        var check = await _tessera.Validator.CheckAsync(session.Token, _cancellationToken);
        var actual = new ModelVerdict(check.Verdict.Kind,
            check.Verdict.Kind == SessionVerdictKind.Revoked ? check.Verdict.Reason : null,
            check.Verdict.Kind == SessionVerdictKind.AccountBanned ? check.Verdict.BannedUntil : null);
        Expect(actual == expected, $"{what}: {session} of {session.User} should be {expected}, but the validator says {actual}");
        Coverage.Add($"verdict {actual.Kind}");
        if (expected.Kind == SessionVerdictKind.Valid)
        {
            session.LastActiveAt = now;
        }

        return check;
    }

    /// <summary>
    /// The rule of DESIGN.md, applied by the model alone. The order of the answers when several apply is the one
    /// SessionRule documents: the account's state first (deleted, deactivated, banned), then revocation, then expiry.
    /// </summary>
    private static ModelVerdict Expected(ModelSession session, DateTimeOffset now)
    {
        var user = session.User;
        if (user.Status == UserStatus.Deleted)
        {
            return new(SessionVerdictKind.AccountDeleted);
        }

        if (user.Status == UserStatus.Deactivated)
        {
            return new(SessionVerdictKind.AccountDeactivated);
        }

        if (user.IsBannedAt(now))
        {
            return new(SessionVerdictKind.AccountBanned, BannedUntil: user.BannedUntil);
        }

        if (session.Revoked is { } reason)
        {
            return new(SessionVerdictKind.Revoked, reason);
        }

        if (now >= session.AbsoluteExpiresAt || now >= session.LastActiveAt + Idle)
        {
            return new(SessionVerdictKind.Expired);
        }

        return new(SessionVerdictKind.Valid);
    }

    /// <summary>
    /// Ends the user's sessions a revocation selects: those not yet revoked and not past their absolute end (one past
    /// only its idle end is still revoked: the store does not know the idle timeout). Returns how many.
    /// </summary>
    private int Revoke(ModelUser user, RevocationReason reason, ModelSession? only = null, ModelSession? except = null)
    {
        var now = Now;
        var revoked = 0;
        foreach (var session in _sessions)
        {
            if (session.User == user && session.Revoked is null && now < session.AbsoluteExpiresAt
                && (only is null || session == only) && session != except)
            {
                session.Revoked = reason;
                revoked++;
            }
        }

        return revoked;
    }

    private ModelSession? Pick(int index) => _sessions.Count == 0 ? null : _sessions[index % _sessions.Count];

    private void ExpectRefusal(string? expectedCode, TesseraException refused, string what)
    {
        _outcome = $"refused {refused.Code}";
        Expect(expectedCode is not null, $"{what} was refused with {refused.Code} ({refused.Message}), but the model expected it to succeed");
        Expect(refused.Code == expectedCode, $"{what} was refused with {refused.Code}, but the model expected {expectedCode}");
    }

    private void AssertCount(int expected, int actual, string what) =>
        Expect(expected == actual, $"{what}: the model counts {expected}, the service {actual}");

    private void Expect(bool condition, string message)
    {
        if (!condition)
        {
            var sessions = string.Join("; ", _sessions.Select(s => s.Describe()));
            var users = string.Join("; ", _users.Select(u => u.Describe()));
            Assert.Fail($"At {_step}: {message}.{Environment.NewLine}Model users: {users}{Environment.NewLine}Model sessions: {sessions}");
        }
    }

    private sealed record ModelVerdict(SessionVerdictKind Kind, RevocationReason? Reason = null, DateTimeOffset? BannedUntil = null)
    {
        public override string ToString() => Kind switch
        {
            SessionVerdictKind.Revoked => $"Revoked({Reason?.ToWireName() ?? "no reason"})",
            SessionVerdictKind.AccountBanned => BannedUntil is { } until ? $"AccountBanned(until +{Minutes(until)} min)" : "AccountBanned(no end)",
            _ => Kind.ToString(),
        };
    }

    private static string Minutes(DateTimeOffset at) => (at - CoreHarness.Start).TotalMinutes.ToString(CultureInfo.InvariantCulture);

    private sealed class ModelUser(int index, string id, string email, string password)
    {
        public int Index { get; } = index;

        public string Id { get; } = id;

        public string Email { get; } = email;

        public string Password { get; set; } = password;

        public UserStatus Status { get; set; } = UserStatus.Active;

        public bool Banned { get; set; }

        public DateTimeOffset? BannedUntil { get; set; }

        public bool IsBannedAt(DateTimeOffset now) => Banned && (BannedUntil is null || now < BannedUntil);

        public override string ToString() => $"u{Index}";

        public string Describe() =>
            $"u{Index} {Status}" + (Banned ? (BannedUntil is { } until ? $" banned until +{Minutes(until)} min" : " banned") : string.Empty);
    }

    private sealed class ModelSession(int index, string id, string token, ModelUser user, DateTimeOffset createdAt)
    {
        public int Index { get; } = index;

        public string Id { get; } = id;

        public string Token { get; } = token;

        public ModelUser User { get; } = user;

        public DateTimeOffset AbsoluteExpiresAt { get; } = createdAt + Absolute;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset LastActiveAt { get; set; } = createdAt;

        public RevocationReason? Revoked { get; set; }

        public override string ToString() => $"#{Index}";

        public string Describe() =>
            $"#{Index} of {User} created +{Minutes(CreatedAt)} last active +{Minutes(LastActiveAt)}"
            + (Revoked is { } reason ? $" revoked ({reason.ToWireName()})" : string.Empty);
    }
}
