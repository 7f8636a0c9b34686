using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using Tessera.Core.Storage;

namespace Tessera.Server.Operations;

/// <summary>/healthz (the process is up), /readyz (the store answers), /metrics (Prometheus), /openapi/v1.json.</summary>
internal static class OperationsApi
{
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new() { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains(ReadyTag) });
        endpoints.MapMetrics("/metrics", endpoints.ServiceProvider.GetRequiredService<PrometheusExport>().Registry);
        endpoints.MapOpenApi("/openapi/{documentName}.json");

        // A bare endpoint for benchmarks to compare a session check against (bench/wrk); off unless asked for.
        if (endpoints.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>("Tessera:Benchmarks:HelloEndpoint"))
        {
            endpoints.MapGet("/hello", () => "Hello").ExcludeFromDescription();
        }

        return endpoints;
    }
}

/// <summary>Ready when the store answers a trivial query.</summary>
internal sealed class StoreHealthCheck(ITesseraStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.IsReadyAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The store did not answer.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The store did not answer.", exception);
        }
    }
}
