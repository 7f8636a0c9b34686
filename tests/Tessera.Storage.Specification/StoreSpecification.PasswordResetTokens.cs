using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task A_reset_token_can_be_consumed_once()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var token = NewResetToken(user.Id, expiresAt: T0.AddHours(1));
        await InsertAsync(store, user);
        await WriteAsync(store, transaction => transaction.PasswordResetTokens.InsertAsync(token, Ct));

        PasswordResetToken? first = null;
        PasswordResetToken? second = null;
        await WriteAsync(store, async transaction => first = await transaction.PasswordResetTokens.ConsumeAsync(token.TokenHash, T0, Ct));
        await WriteAsync(store, async transaction => second = await transaction.PasswordResetTokens.ConsumeAsync(token.TokenHash, T0.AddMinutes(1), Ct));

        Assert.Equal(token with { UsedAt = T0 }, first);
        Assert.Null(second);
    }

    [Fact]
    public async Task An_expired_or_unknown_reset_token_cannot_be_consumed()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var expiresNow = NewResetToken(user.Id, expiresAt: T0);
        var expiresInAMillisecond = NewResetToken(user.Id, expiresAt: T0.AddMilliseconds(1));
        SecretTokens.Create(out var unknown);
        await InsertAsync(store, user);
        await WriteAsync(store, async transaction =>
        {
            await transaction.PasswordResetTokens.InsertAsync(expiresNow, Ct);
            await transaction.PasswordResetTokens.InsertAsync(expiresInAMillisecond, Ct);
        });

        await using var write = await store.BeginWriteAsync(Ct);
        Assert.Null(await write.PasswordResetTokens.ConsumeAsync(expiresNow.TokenHash, T0, Ct));
        Assert.Null(await write.PasswordResetTokens.ConsumeAsync(unknown, T0, Ct));
        Assert.NotNull(await write.PasswordResetTokens.ConsumeAsync(expiresInAMillisecond.TokenHash, T0, Ct));
    }

    [Fact]
    public async Task Storing_a_new_reset_token_ends_the_older_unused_tokens_of_that_user_only()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var other = NewUser();
        var older = NewResetToken(user.Id, expiresAt: T0.AddHours(1));
        var others = NewResetToken(other.Id, expiresAt: T0.AddHours(1));
        var newer = NewResetToken(user.Id, expiresAt: T0.AddHours(2)) with { CreatedAt = T0.AddMinutes(5) };
        await InsertAsync(store, user, other);
        await WriteAsync(store, async transaction =>
        {
            await transaction.PasswordResetTokens.InsertAsync(older, Ct);
            await transaction.PasswordResetTokens.InsertAsync(others, Ct);
        });

        await WriteAsync(store, transaction => transaction.PasswordResetTokens.InsertAsync(newer, Ct));

        await using var write = await store.BeginWriteAsync(Ct);
        Assert.Null(await write.PasswordResetTokens.ConsumeAsync(older.TokenHash, T0.AddMinutes(6), Ct));
        Assert.Equal(newer with { UsedAt = T0.AddMinutes(6) }, await write.PasswordResetTokens.ConsumeAsync(newer.TokenHash, T0.AddMinutes(6), Ct));
        Assert.NotNull(await write.PasswordResetTokens.ConsumeAsync(others.TokenHash, T0.AddMinutes(6), Ct));
    }

    [Fact]
    public async Task Invalidating_a_users_reset_tokens_leaves_other_users_tokens_usable()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var other = NewUser();
        var older = NewResetToken(user.Id, expiresAt: T0.AddHours(1));
        var newer = NewResetToken(user.Id, expiresAt: T0.AddHours(2));
        var others = NewResetToken(other.Id, expiresAt: T0.AddHours(1));
        await InsertAsync(store, user, other);
        await WriteAsync(store, async transaction =>
        {
            foreach (var token in new[] { older, newer, others })
            {
                await transaction.PasswordResetTokens.InsertAsync(token, Ct);
            }
        });

        await WriteAsync(store, transaction => transaction.PasswordResetTokens.InvalidateAllAsync(user.Id, T0, Ct));

        await using var write = await store.BeginWriteAsync(Ct);
        Assert.Null(await write.PasswordResetTokens.ConsumeAsync(older.TokenHash, T0.AddMinutes(1), Ct));
        Assert.Null(await write.PasswordResetTokens.ConsumeAsync(newer.TokenHash, T0.AddMinutes(1), Ct));
        Assert.Equal(others with { UsedAt = T0.AddMinutes(1) }, await write.PasswordResetTokens.ConsumeAsync(others.TokenHash, T0.AddMinutes(1), Ct));
    }
}
