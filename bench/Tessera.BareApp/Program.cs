// The yardstick of bench/pipeline/run.sh: a bare ASP.NET Core app, the default builder and one endpoint, nothing else.
// What Tessera's pipeline and session check cost is stated as a ratio to this app's requests per second, measured in
// the same run (issue 15). Started with the same logging level as Tessera (--Logging:LogLevel:Default=Warning).
var app = WebApplication.CreateBuilder(args).Build();
app.MapGet("/hello", () => "Hello");
app.Run();
