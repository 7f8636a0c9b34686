using System.Security.Cryptography;
using Tessera.Core.Accounts;
using Tessera.Core.ExternalLogin;
using Xunit;

namespace Tessera.Core.Tests.ExternalLogin;

/// <summary>
/// The loopback flow's one-time codes on a real SQLite file with the fake clock: what only the clock can show (their
/// minute) and the pieces the HTTP tests cannot reach (PKCE's arithmetic, two exchanges of one code at once).
/// </summary>
public sealed class LoopbackCodeTests : IAsyncLifetime
{
    private CoreHarness _tessera = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ExternalSignIn SignIn => _tessera.Get<ExternalSignIn>();

    public async ValueTask InitializeAsync() => _tessera = await CoreHarness.StartAsync(cancellationToken: Ct);

    public ValueTask DisposeAsync() => _tessera.DisposeAsync();

    [Fact]
    public async Task A_code_works_until_its_minute_is_over_and_not_after()
    {
        var verifier = NewVerifier();
        var inTime = await IssueAsync(verifier);
        _tessera.Clock.Advance(ExternalSignIn.LoopbackCodeLifetime - TimeSpan.FromSeconds(1));
        var session = await SignIn.ExchangeLoopbackCodeAsync(new LoopbackExchange(inTime, verifier, null, "tessera-cli/1.0", "127.0.0.1"), Ct);
        Assert.True((await _tessera.Validator.CheckAsync(session.Token, Ct)).Holds);

        var late = await IssueAsync(verifier);
        _tessera.Clock.Advance(ExternalSignIn.LoopbackCodeLifetime);
        var refused = await Assert.ThrowsAsync<TesseraException>(() => SignIn.ExchangeLoopbackCodeAsync(new LoopbackExchange(late, verifier, null, null, null), Ct));
        Assert.Equal(ErrorCodes.ExternalCodeExpired, refused.Code);
    }

    [Fact]
    public async Task Of_two_exchanges_of_one_code_at_once_exactly_one_makes_a_session()
    {
        var verifier = NewVerifier();
        var code = await IssueAsync(verifier);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            try
            {
                await SignIn.ExchangeLoopbackCodeAsync(new LoopbackExchange(code, verifier, null, null, null), Ct);
                return "ok";
            }
            catch (TesseraException refused)
            {
                return refused.Code;
            }
        })));

        Assert.Equal(["ok", ErrorCodes.ExternalCodeUsed], outcomes.Order(StringComparer.Ordinal).Reverse());
    }

    [Fact]
    public void The_s256_challenge_is_base64url_of_the_sha256_of_the_verifier()
    {
        // Worked out apart from .NET (Python: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()), without padding).
        Assert.Equal("u8NjlbG3IKEU_kwtZEGASc0u-Ipbh4cEnvHfB6oMa-E", Pkce.ChallengeOf("dBjftJeZ4CVP-mJ92K9qfrjRE0zf3ZTaVZ9omXJ3xeLVZ"));
        Assert.True(Pkce.Matches("dBjftJeZ4CVP-mJ92K9qfrjRE0zf3ZTaVZ9omXJ3xeLVZ", "u8NjlbG3IKEU_kwtZEGASc0u-Ipbh4cEnvHfB6oMa-E"));
        Assert.False(Pkce.Matches("dBjftJeZ4CVP-mJ92K9qfrjRE0zf3ZTaVZ9omXJ3xeLVY", "u8NjlbG3IKEU_kwtZEGASc0u-Ipbh4cEnvHfB6oMa-E"));
        Assert.True(Pkce.IsWellFormedChallenge("u8NjlbG3IKEU_kwtZEGASc0u-Ipbh4cEnvHfB6oMa-E"));
        Assert.False(Pkce.IsWellFormedChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
        Assert.False(Pkce.IsWellFormedVerifier("short"));
        Assert.False(Pkce.IsWellFormedVerifier(new string('a', 42) + "!"));
    }

    private static string NewVerifier() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private Task<string> IssueAsync(string verifier) => SignIn.IssueLoopbackCodeAsync(
        new ExternalSignInRequest("corp", "Corp ID", $"sub-{Guid.NewGuid():N}", $"p{Guid.NewGuid():N}@provider.test", EmailVerified: true, "Ada",
            ProtectedRefreshToken: null, AllowNewAccounts: true, Device: null, UserAgent: null, IpAddress: null),
        Pkce.ChallengeOf(verifier),
        Ct);
}
