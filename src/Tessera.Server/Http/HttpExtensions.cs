using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Tessera.Server.Http;

internal static class HttpExtensions
{
    /// <summary>How requests are read and answered: the body limit, strict JSON, and problems with a code for every error.</summary>
    public static IHostApplicationBuilder AddTesseraHttp(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = RequestGuard.MaxBodyBytes);
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.Converters.Add(new UtcTimestampConverter());
            json.SerializerOptions.Converters.Add(new StrictStringConverter());
        });
        services.AddTesseraProblems();
        return builder;
    }
}
