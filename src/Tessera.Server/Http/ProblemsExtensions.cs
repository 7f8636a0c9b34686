namespace Tessera.Server.Http;

internal static class ProblemsExtensions
{
    /// <summary>Problem details with a <c>code</c> for every error, and the handler that turns exceptions into them.</summary>
    public static IServiceCollection AddTesseraProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Every problem carries a code, including the framework's own (unknown route, wrong method).
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            context.ProblemDetails.Extensions.TryAdd("code", ErrorCatalog.CodeOf(status));
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        return services;
    }

    /// <summary>Exceptions, and empty error responses from the framework, become problems with a code.</summary>
    public static WebApplication UseTesseraProblems(this WebApplication app)
    {
        app.UseExceptionHandler();

        // An empty 4xx or 5xx from the framework (antiforgery, a wrong method, an unknown path) becomes a problem with a
        // code, in JSON whatever the Accept header asks for: a client never has to parse a second error format. Under /oauth2
        // it becomes the RFC 6749 error that clients of those endpoints parse instead.
        app.UseStatusCodePages(static context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            return Problems.WriteAsync(context.HttpContext, Problems.Create(status, ErrorCatalog.CodeOf(status), ErrorCatalog.TitleOf(status)));
        });
        return app;
    }
}
