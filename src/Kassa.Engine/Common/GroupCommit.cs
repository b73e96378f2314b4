namespace Kassa.Engine.Common;

/// <summary>
/// The failure rule both group-commit loops follow (balance operations, meter event batches): run the
/// whole batch in one transaction; if that fails and the batch held more than one item, one item may have
/// broken it, so run each alone and fail only the ones that fail alone.
/// </summary>
public static class GroupCommit
{
    /// <param name="together">Runs the batch in one transaction and completes every item.</param>
    /// <param name="alone">Runs one item in a transaction of its own and completes it.</param>
    /// <param name="fail">Completes an item with the error that stopped it.</param>
    public static async Task RunAsync<T>(IReadOnlyList<T> batch, Func<IReadOnlyList<T>, Task> together, Func<T, Task> alone, Action<T, Exception> fail)
    {
        try
        {
            await together(batch);
        }
        catch (Exception) when (batch.Count > 1)
        {
            foreach (var item in batch)
            {
                try
                {
                    await alone(item);
                }
                catch (Exception e)
                {
                    fail(item, e);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var item in batch) fail(item, e);
        }
    }
}
