namespace Tessera.AspNetCore.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline, looking often: never a fixed sleep where a condition can be awaited.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not within {(within ?? TimeSpan.FromSeconds(10)).TotalSeconds} s: {what}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? within = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, within);
}
