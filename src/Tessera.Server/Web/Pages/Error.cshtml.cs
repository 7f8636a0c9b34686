namespace Tessera.Server.Web.Pages;

/// <summary>
/// /error/{status}: what a browser sees when a page request ends in an error status with nothing to show (an address that
/// leads nowhere, above all), instead of the problem JSON that API clients get.
/// </summary>
internal sealed class ErrorModel : TesseraPageModel
{
    public int Status { get; set; }

    public string Title => Status == StatusCodes.Status404NotFound ? "Page not found" : "Something went wrong";

    public string Message => Status == StatusCodes.Status404NotFound
        ? "There is no page at this address. It may have been mistyped, or the link that led here is out of date."
        : "This page cannot be shown right now. Try again, or start again from your account.";

    public void OnGet(int status)
    {
        Status = status;
        // Visited directly, the page still answers with the status it describes; re-executed, it keeps the original one.
        Response.StatusCode = status is >= 400 and <= 599 ? status : StatusCodes.Status404NotFound;
    }
}
