using System.CommandLine;
using Spectre.Console;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>
/// Runs a command's action and turns every failure into one sentence on standard error (or a JSON error object on
/// standard output with --json) and its documented exit code: no stack trace, never an unexplained 1.
/// </summary>
internal static class CommandRunner
{
    public static void SetRun(this Command command, Func<CliContext, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            CliContext? context = null;
            try
            {
                context = new CliContext(parseResult);
                return await action(context, cancellationToken);
            }
            catch (CliException exception)
            {
                return Fail(context, parseResult, exception.Code, exception.Message, exception.ExitCode, status: null);
            }
            catch (ApiException exception) when (exception.SessionEnded)
            {
                var profile = context?.ProfileName ?? "default";
                var hint = context?.ProfileHint ?? string.Empty;
                var message = $"The CLI session of profile '{profile}' is no longer valid ({exception.Code}: {exception.Message}). Sign in again: tessera login{hint}.";
                return Fail(context, parseResult, exception.Code, message, ExitCodes.NotAuthorised, (int)exception.Status);
            }
            catch (ApiException exception) when (exception.Status == System.Net.HttpStatusCode.Forbidden)
            {
                return Fail(context, parseResult, exception.Code, $"Not allowed ({exception.Code}): {exception.Message}", ExitCodes.NotAuthorised, (int)exception.Status);
            }
            catch (ApiException exception)
            {
                return Fail(context, parseResult, exception.Code, $"{exception.Message} ({exception.Code})", ExitCodes.Failed, (int)exception.Status);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Fail(context, parseResult, "cancelled", "Cancelled.", ExitCodes.Failed, status: null);
            }
        });

    private static int Fail(CliContext? context, ParseResult parseResult, string code, string message, int exitCode, int? status)
    {
        if (context?.Json ?? parseResult.GetValue(CliContext.JsonOption))
        {
            Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { error = new { code, message, status, exitCode } }, CliJson.Indented));
        }

        var error = context?.Error ?? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        error.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        return exitCode;
    }
}
