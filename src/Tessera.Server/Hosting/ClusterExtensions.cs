using Tessera.Core.Options;
using Tessera.Redis;
using Tessera.Server.Operations;

namespace Tessera.Server.Hosting;

internal static class ClusterExtensions
{
    /// <summary>
    /// Several nodes share Redis (when <c>Tessera:Redis:Configuration</c> is set): the bus that waits for every node,
    /// membership, self-fencing, the shared session cache, shared throttling. Without it the node runs alone.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraCluster(this IHostApplicationBuilder builder)
    {
        var tessera = builder.Configuration.GetSection(TesseraOptions.SectionName);
        var redis = tessera.GetSection(RedisClusterOptions.SectionName);
        if (!string.IsNullOrWhiteSpace(redis[nameof(RedisClusterOptions.Configuration)]))
        {
            builder.Services.AddTesseraRedis(tessera);
            builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [OperationsApi.ReadyTag]);
        }

        return builder;
    }
}
