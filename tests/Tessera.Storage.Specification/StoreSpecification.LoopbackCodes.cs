using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task A_loopback_code_is_spent_by_its_first_consumption_and_remembers_the_session_its_exchange_made()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        SecretTokens.Create(out var hash);
        var code = new LoopbackCode(hash, user.Id, "corp", "challenge", T0, T0.AddMinutes(1), UsedAt: null);
        await WriteAsync(store, transaction => transaction.LoopbackCodes.InsertAsync(code, T0.AddHours(-1), Ct));

        // The first consumption reads the code as it was (unused) and spends it; the exchange then names its session.
        LoopbackCode? first = null;
        await WriteAsync(store, async transaction =>
        {
            first = await transaction.LoopbackCodes.ConsumeAsync(hash, T0.AddSeconds(5), Ct);
            await transaction.LoopbackCodes.RecordSessionAsync(hash, "ses_made", Ct);
        });
        Assert.Equal(code, first);

        // A replay reads it spent, with the session to end; a code never issued is not there.
        LoopbackCode? replayed = null;
        LoopbackCode? unknown = new(hash, "x", "x", "x", T0, T0, null);
        SecretTokens.Create(out var neverIssued);
        await WriteAsync(store, async transaction =>
        {
            replayed = await transaction.LoopbackCodes.ConsumeAsync(hash, T0.AddSeconds(9), Ct);
            unknown = await transaction.LoopbackCodes.ConsumeAsync(neverIssued, T0.AddSeconds(9), Ct);
        });
        Assert.Equal(code with { UsedAt = T0.AddSeconds(5), SessionId = "ses_made" }, replayed);
        Assert.Null(unknown);
    }
}
