using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Core.Tests.Sessions;

public sealed class SessionRuleTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Absolute = TimeSpan.FromHours(3);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_fresh_session_of_an_active_user_holds()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session, session.LastActiveAt, user);

        Assert.Equal(SessionVerdict.Valid, verdict);
        Assert.True(verdict.Holds);
    }

    [Fact]
    public void An_unused_session_holds_until_just_before_its_idle_end_and_has_expired_at_it()
    {
        var (session, user) = Fresh();
        var lastActive = session.LastActiveAt;

        _clock.Advance(Idle - TimeSpan.FromTicks(1));
        Assert.Equal(SessionVerdictKind.Valid, Evaluate(session, lastActive, user).Kind);

        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(lastActive + Idle, _clock.GetUtcNow());
        Assert.Equal(SessionVerdict.Expired, Evaluate(session, lastActive, user));
    }

    [Fact]
    public void Activity_moves_the_idle_end_so_a_used_session_outlives_the_idle_timeout()
    {
        var (session, user) = Fresh();
        var lastActive = session.LastActiveAt;

        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(25));
            Assert.Equal(SessionVerdictKind.Valid, Evaluate(session, lastActive, user).Kind);
            lastActive = _clock.GetUtcNow();
        }

        Assert.True(_clock.GetUtcNow() - session.CreatedAt > Idle);
        _clock.Advance(Idle);
        Assert.Equal(SessionVerdictKind.Expired, Evaluate(session, lastActive, user).Kind);
    }

    [Fact]
    public void The_absolute_lifetime_ends_a_session_however_active_it_is()
    {
        var (session, user) = Fresh();

        _clock.Advance(Absolute - TimeSpan.FromTicks(1));
        Assert.Equal(SessionVerdictKind.Valid, Evaluate(session, _clock.GetUtcNow(), user).Kind);

        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(SessionVerdictKind.Expired, Evaluate(session, _clock.GetUtcNow(), user).Kind);
    }

    [Fact]
    public void A_revoked_session_is_revoked_with_its_reason()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(Revoke(session, RevocationReason.SignedOutOtherDevices), session.LastActiveAt, user);

        Assert.Equal(SessionVerdictKind.Revoked, verdict.Kind);
        Assert.Equal(RevocationReason.SignedOutOtherDevices, verdict.Reason);
    }

    [Fact]
    public void A_revoked_session_without_a_known_reason_reads_as_a_revoked_token()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session with { RevokedAt = _clock.GetUtcNow(), RevokeReason = null }, session.LastActiveAt, user);

        Assert.Equal(SessionVerdictKind.Revoked, verdict.Kind);
        Assert.Equal(RevocationReason.TokenRevoked, verdict.Reason);
    }

    [Fact]
    public void Revocation_wins_over_expiry()
    {
        var (session, user) = Fresh();
        var revoked = Revoke(session, RevocationReason.RevokedByAdmin);

        _clock.Advance(Absolute);

        var verdict = Evaluate(revoked, session.LastActiveAt, user);
        Assert.Equal(SessionVerdictKind.Revoked, verdict.Kind);
        Assert.Equal(RevocationReason.RevokedByAdmin, verdict.Reason);
    }

    [Fact]
    public void A_deactivated_user_has_no_session_that_holds()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session, session.LastActiveAt, user with { Status = UserStatus.Deactivated });

        Assert.Equal(SessionVerdictKind.AccountDeactivated, verdict.Kind);
    }

    [Fact]
    public void A_deleted_user_has_no_session_that_holds()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session, session.LastActiveAt, user with { Status = UserStatus.Deleted });

        Assert.Equal(SessionVerdictKind.AccountDeleted, verdict.Kind);
    }

    [Theory]
    [InlineData(UserStatus.Deactivated, SessionVerdictKind.AccountDeactivated)]
    [InlineData(UserStatus.Deleted, SessionVerdictKind.AccountDeleted)]
    public void The_state_of_the_account_is_told_before_the_revocation_of_the_session(UserStatus status, SessionVerdictKind expected)
    {
        var (session, user) = Fresh();
        var reason = status == UserStatus.Deleted ? RevocationReason.UserDeleted : RevocationReason.UserDeactivated;

        var verdict = Evaluate(Revoke(session, reason), session.LastActiveAt, user with { Status = status });

        Assert.Equal(expected, verdict.Kind);
    }

    [Fact]
    public void Deletion_is_told_before_deactivation_and_ban()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session, session.LastActiveAt, user with { Status = UserStatus.Deleted, Banned = true });

        Assert.Equal(SessionVerdictKind.AccountDeleted, verdict.Kind);
    }

    [Fact]
    public void Deactivation_is_told_before_a_ban()
    {
        var (session, user) = Fresh();

        var verdict = Evaluate(session, session.LastActiveAt, user with { Status = UserStatus.Deactivated, Banned = true });

        Assert.Equal(SessionVerdictKind.AccountDeactivated, verdict.Kind);
    }

    [Fact]
    public void A_ban_without_an_end_blocks_for_as_long_as_it_stays()
    {
        var (session, user) = Fresh();
        var banned = user with { Banned = true, BannedUntil = null };

        var now = Evaluate(session, session.LastActiveAt, banned);
        _clock.Advance(TimeSpan.FromDays(3650));
        var muchLater = Evaluate(session, _clock.GetUtcNow(), banned);

        Assert.Equal(SessionVerdictKind.AccountBanned, now.Kind);
        Assert.Null(now.BannedUntil);
        Assert.Equal(SessionVerdictKind.AccountBanned, muchLater.Kind);
    }

    [Fact]
    public void A_ban_with_an_end_blocks_before_the_end_and_says_when_it_ends()
    {
        var (session, user) = Fresh();
        var until = _clock.GetUtcNow() + TimeSpan.FromMinutes(10);
        var banned = user with { Banned = true, BannedUntil = until };

        _clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1));
        var verdict = Evaluate(session, _clock.GetUtcNow(), banned);

        Assert.Equal(SessionVerdictKind.AccountBanned, verdict.Kind);
        Assert.Equal(until, verdict.BannedUntil);
    }

    [Fact]
    public void A_ban_with_an_end_stops_blocking_once_the_end_has_passed()
    {
        var (session, user) = Fresh();
        var until = _clock.GetUtcNow() + TimeSpan.FromMinutes(10);
        var banned = user with { Banned = true, BannedUntil = until };

        _clock.Advance(TimeSpan.FromMinutes(10));
        var atTheEnd = Evaluate(session, _clock.GetUtcNow(), banned);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var afterTheEnd = Evaluate(session, _clock.GetUtcNow(), banned);

        Assert.Equal(SessionVerdict.Valid, atTheEnd);
        Assert.Equal(SessionVerdict.Valid, afterTheEnd);
    }

    [Fact]
    public void A_ban_is_told_before_the_revocation_it_caused()
    {
        var (session, user) = Fresh();
        var banned = user with { Banned = true };

        var verdict = Evaluate(Revoke(session, RevocationReason.UserBanned), session.LastActiveAt, banned);

        Assert.Equal(SessionVerdictKind.AccountBanned, verdict.Kind);
    }

    [Fact]
    public void A_revoked_session_of_a_user_whose_ban_has_ended_is_still_revoked()
    {
        var (session, user) = Fresh();
        var banned = user with { Banned = true, BannedUntil = _clock.GetUtcNow() + TimeSpan.FromMinutes(5) };
        var revoked = Revoke(session, RevocationReason.UserBanned);

        _clock.Advance(TimeSpan.FromMinutes(6));
        var verdict = Evaluate(revoked, _clock.GetUtcNow(), banned);

        Assert.Equal(SessionVerdictKind.Revoked, verdict.Kind);
        Assert.Equal(RevocationReason.UserBanned, verdict.Reason);
    }

    [Fact]
    public void An_ended_ban_does_not_keep_an_expired_session_alive()
    {
        var (session, user) = Fresh();
        var banned = user with { Banned = true, BannedUntil = _clock.GetUtcNow() + TimeSpan.FromMinutes(5) };

        _clock.Advance(Idle);

        Assert.Equal(SessionVerdictKind.Expired, Evaluate(session, session.LastActiveAt, banned).Kind);
    }

    private static readonly Dictionary<RevocationReason, string> ContractWireNames = new()
    {
        [RevocationReason.SignedOut] = "signed_out",
        [RevocationReason.SignedOutAllDevices] = "signed_out_all_devices",
        [RevocationReason.SignedOutOtherDevices] = "signed_out_other_devices",
        [RevocationReason.RevokedByUser] = "revoked_by_user",
        [RevocationReason.PasswordChanged] = "password_changed",
        [RevocationReason.PasswordReset] = "password_reset",
        [RevocationReason.UserDeactivated] = "user_deactivated",
        [RevocationReason.UserBanned] = "user_banned",
        [RevocationReason.UserDeleted] = "user_deleted",
        [RevocationReason.RevokedByAdmin] = "revoked_by_admin",
        [RevocationReason.TokenRevoked] = "token_revoked",
        [RevocationReason.SignInCodeReplayed] = "sign_in_code_replayed",
    };

    public static TheoryData<RevocationReason, string> RevocationWireNames
    {
        get
        {
            var data = new TheoryData<RevocationReason, string>();
            foreach (var (reason, name) in ContractWireNames)
            {
                data.Add(reason, name);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(RevocationWireNames))]
    public void A_revoked_verdict_names_the_revocation_reason_and_describes_it(RevocationReason reason, string wireName)
    {
        var verdict = new SessionVerdict(SessionVerdictKind.Revoked, reason);

        Assert.Equal(wireName, verdict.EndedReasonName);
        Assert.Equal(reason.Describe(), verdict.EndedMessage);
        Assert.False(string.IsNullOrWhiteSpace(verdict.EndedMessage));
    }

    [Fact]
    public void The_revocation_reasons_cover_the_contract_and_read_back_from_their_wire_names()
    {
        var names = Enum.GetValues<RevocationReason>().Select(r => r.ToWireName()).ToList();

        Assert.Equal(ContractWireNames.Values.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        foreach (var reason in Enum.GetValues<RevocationReason>())
        {
            Assert.True(RevocationReasons.TryParse(reason.ToWireName(), out var parsed));
            Assert.Equal(reason, parsed);
        }
    }

    [Fact]
    public void A_revoked_verdict_without_a_reason_is_told_as_a_revoked_token()
    {
        var verdict = new SessionVerdict(SessionVerdictKind.Revoked);

        Assert.Equal("token_revoked", verdict.EndedReasonName);
        Assert.Equal("Your session has ended.", verdict.EndedMessage);
    }

    [Fact]
    public void An_expired_verdict_is_told_as_an_expired_session()
    {
        Assert.Equal("session_expired", SessionVerdict.Expired.EndedReasonName);
        Assert.Equal("Your session has expired. Please sign in again.", SessionVerdict.Expired.EndedMessage);
    }

    [Fact]
    public void A_deactivated_account_is_told_as_such_whatever_revoked_the_session()
    {
        var verdict = new SessionVerdict(SessionVerdictKind.AccountDeactivated, RevocationReason.SignedOut);

        Assert.Equal("user_deactivated", verdict.EndedReasonName);
        Assert.Equal("Your account has been deactivated.", verdict.EndedMessage);
    }

    [Fact]
    public void A_deleted_account_is_told_as_such()
    {
        var verdict = new SessionVerdict(SessionVerdictKind.AccountDeleted, RevocationReason.UserDeleted);

        Assert.Equal("user_deleted", verdict.EndedReasonName);
        Assert.Equal("Your account has been deleted.", verdict.EndedMessage);
    }

    [Fact]
    public void A_ban_without_an_end_is_told_as_a_ban()
    {
        var verdict = new SessionVerdict(SessionVerdictKind.AccountBanned, RevocationReason.UserBanned);

        Assert.Equal("user_banned", verdict.EndedReasonName);
        Assert.Equal("Your account has been banned.", verdict.EndedMessage);
    }

    [Fact]
    public void A_ban_with_an_end_tells_the_person_when_it_ends_in_utc()
    {
        var until = new DateTimeOffset(2026, 11, 23, 15, 45, 30, TimeSpan.FromHours(2));
        var verdict = new SessionVerdict(SessionVerdictKind.AccountBanned, RevocationReason.UserBanned, until);

        Assert.Equal("user_banned", verdict.EndedReasonName);
        Assert.Equal("Your account is banned until 2026-11-23 13:45 UTC.", verdict.EndedMessage);
    }

    [Fact]
    public void Verdicts_that_name_no_session_are_told_as_an_ended_session()
    {
        Assert.Equal("token_revoked", SessionVerdict.Unauthenticated.EndedReasonName);
        Assert.Equal("Your session has ended.", SessionVerdict.Unauthenticated.EndedMessage);
        Assert.False(SessionVerdict.Unauthenticated.Holds);
    }

    private SessionVerdict Evaluate(Session session, DateTimeOffset lastActiveAt, User user) =>
        SessionRule.Evaluate(session, lastActiveAt, user, _clock.GetUtcNow(), Idle);

    private Session Revoke(Session session, RevocationReason reason) =>
        session with { RevokedAt = _clock.GetUtcNow(), RevokedBy = session.UserId, RevokeReason = reason };

    private (Session Session, User User) Fresh()
    {
        var now = _clock.GetUtcNow();
        var user = new User
        {
            Id = "usr_rule",
            Email = "rule@example.com",
            DisplayName = "Rule",
            PasswordHash = "x",
            CreatedAt = now,
            UpdatedAt = now,
        };
        SecretTokens.Create(out var tokenHash);
        var session = new Session
        {
            Id = "ses_rule",
            TokenHash = tokenHash,
            UserId = user.Id,
            Device = new DeviceInfo("Test", DevicePlatform.Api, null, null, null),
            CreatedAt = now,
            LastActiveAt = now,
            AbsoluteExpiresAt = now + Absolute,
        };
        return (session, user);
    }
}
