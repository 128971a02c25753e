// What the gallery page says about each golden card, grouped by capability. render.mjs fails when a
// golden file has no entry here or an entry has no golden file, so a new card cannot slip into the
// bot without appearing in docs/cards.

/** Ordered groups of { name (golden file without .json), title, description }. */
export const groups = [
  {
    title: 'Help',
    intro: 'The answer to `help`: only the commands the user may run where they typed it.',
    cards: [
      { name: 'help', title: 'Help for a sponsor', description: 'Commands a sponsor can run in this chat, with a short explanation of each.' },
      { name: 'help_admin', title: 'Help for an admin', description: 'The admin variant, with the admin commands that answer only in the personal chat.' },
      { name: 'help_empty', title: 'Help with no commands', description: 'What someone who may not run any command here sees.' },
    ],
  },
  {
    title: 'Scenario wizard',
    intro: 'A sponsor defines a guest scenario in seven steps; every step is one card updated in place, with Back, Cancel and Start over.',
    cards: [
      { name: 'templates', title: 'Templates', description: '`scenario new` starts here: pick a template to pre-fill the wizard, or start from scratch.' },
      { name: 'wizard_name', title: 'Step 1: name and description', description: 'The scenario name and what guests get and why.' },
      { name: 'wizard_name_errors', title: 'Step 1 with errors', description: 'Field errors are shown in red under the field, with a summary at the top.' },
      { name: 'wizard_partners', title: 'Step 2: partner organisations', description: 'The domains whose users may request access, with the organisations already recognised.' },
      { name: 'wizard_partners_errors', title: 'Step 2 with errors', description: 'A value that is not a domain name is rejected with a clear message.' },
      { name: 'wizard_resources_empty', title: 'Step 3: resources, nothing selected', description: 'Search for Teams, groups, SharePoint sites and apps; Next with nothing selected asks for at least one.' },
      { name: 'wizard_resources_search', title: 'Step 3: resources with search results', description: 'Selected resources with their roles, and search results to add with a role.' },
      { name: 'wizard_resources_no_results', title: 'Step 3: no search results', description: 'A search that found nothing, with a hint about what to try.' },
      { name: 'wizard_approval', title: 'Step 4: approval', description: 'Who approves in up to three stages, justification and automatic denial rules.' },
      { name: 'wizard_approval_errors', title: 'Step 4 with errors', description: 'An approver the directory does not know is flagged under the field.' },
      { name: 'wizard_duration', title: 'Step 5: access duration', description: 'How long access lasts, whether guests may ask for an extension, and whether sponsors may also send B2B invitations.' },
      { name: 'wizard_duration_errors', title: 'Step 5 with errors', description: 'A duration above the 365-day limit is rejected.' },
      { name: 'wizard_questions', title: 'Step 6: questions for requestors', description: 'Up to three optional questions, free text or multiple choice, guests answer when they request.' },
      { name: 'wizard_review', title: 'Step 7: review a new scenario', description: 'Everything the scenario will create, before the sponsor confirms.' },
      { name: 'wizard_review_edit', title: 'Step 7: review an edit', description: 'The same review when an existing scenario is being changed.' },
      { name: 'wizard_review_any_external', title: 'Step 7: review, any external user', description: 'A scenario open to any external user is called out with a warning.' },
      { name: 'creation_progress', title: 'Creating the scenario', description: 'Updated in place as the catalog, resources, connected organization, access package and policy are created.' },
      { name: 'creation_failed', title: 'Creation failed', description: 'Which part failed and why, what to do about it, and Retry that resumes where creation stopped.' },
      { name: 'scenario_created', title: 'Scenario ready', description: 'The request link, with buttons to open it in My Access, invite guests or show the scenario.' },
    ],
  },
  {
    title: 'Scenarios',
    intro: 'Listing, showing and retiring the scenarios a sponsor owns.',
    cards: [
      { name: 'scenario_list', title: 'Scenario list', description: 'A sponsor\'s scenarios with active and pending counts, paged.' },
      { name: 'scenario_list_page2', title: 'Scenario list, last page', description: 'Paging back from a later page.' },
      { name: 'scenario_list_empty', title: 'No scenarios yet', description: 'An empty list offers to create the first scenario.' },
      { name: 'scenario_detail', title: 'Scenario details', description: 'Who can request, what they get, the approval chain, and the actions the viewer may take.' },
      { name: 'scenario_detail_retired', title: 'Retired scenario', description: 'A retired scenario takes no new requests; existing guests keep access until it ends.' },
      { name: 'retire_confirm', title: 'Retire confirmation', description: 'Confirms before a scenario stops accepting requests.' },
    ],
  },
  {
    title: 'Approvals',
    intro: 'The card an approver decides on with their own delegated token. It refreshes for each approver and is replaced by a final state without buttons once someone decides.',
    cards: [
      { name: 'approval_pending', title: 'Pending request', description: 'Requestor, request details, reason and answers, with Approve and Deny.' },
      { name: 'approval_deny_missing_justification', title: 'Deny without a justification', description: 'Denying needs a reason; the field says so.' },
      { name: 'approval_stage2_justification_required', title: 'Second stage, justification required', description: 'A later stage whose policy requires a justification for any decision.' },
      { name: 'approval_error', title: 'Decision could not be recorded', description: 'Graph failed; nothing was lost and the approver can try again.' },
      { name: 'approval_not_approver', title: 'Not an approver', description: 'What a chat member who may not decide this stage sees.' },
      { name: 'approval_approved_by_you', title: 'Approved by you', description: 'Final state for the approver who approved.' },
      { name: 'approval_approved_by_other', title: 'Approved by someone else', description: 'Final state for the other approvers, with the approver\'s reason.' },
      { name: 'approval_decided_elsewhere', title: 'Decided outside Teams', description: 'The request was approved in My Access rather than from the card.' },
      { name: 'approval_denied', title: 'Denied', description: 'Final state of a denied request, with the reason.' },
      { name: 'approval_canceled', title: 'Cancelled', description: 'The requestor withdrew the request.' },
      { name: 'approval_expired', title: 'Expired', description: 'No one decided in time, so the request was denied automatically.' },
    ],
  },
  {
    title: 'Invitations and guests',
    intro: 'Inviting guests to a scenario, the link they receive, and managing the guests a sponsor is responsible for.',
    cards: [
      { name: 'invite_form', title: 'Invite guests', description: 'Pick a scenario, paste up to 50 addresses and choose how guests get the link.' },
      { name: 'invite_form_errors', title: 'Invite guests with errors', description: 'Addresses that are not email addresses are listed under the field.' },
      { name: 'invite_preview', title: 'Email preview', description: 'The email exactly as it will be sent from the sponsor\'s mailbox, before Send.' },
      { name: 'invite_progress', title: 'Invitations in progress', description: 'Updated in place while the batch runs.' },
      { name: 'invite_results', title: 'Invitation results', description: 'One row per guest: sent, already has access, or refused and why.' },
      { name: 'guest_link', title: 'Link for a guest', description: 'The card a sponsor forwards to a guest: what the scenario gives and the request link.' },
      { name: 'guest_list', title: 'Guest list', description: 'A sponsor\'s guests with their scenario, state and dates, paged, with Remove.' },
      { name: 'guest_list_empty', title: 'No guests yet', description: 'An empty guest list points to inviting guests from a scenario.' },
      { name: 'guest_remove_confirm', title: 'Remove confirmation', description: 'Confirms before a guest\'s access ends immediately.' },
      { name: 'expiry_notice', title: 'Access ends soon', description: 'Tells a sponsor a guest\'s access is about to end, with extend, send the extension link, or let it expire.' },
      { name: 'expiry_notice_no_extension', title: 'Access ends soon, no extension', description: 'The same notice for a scenario that does not allow extensions.' },
    ],
  },
  {
    title: 'Generic cards',
    intro: 'Shared building blocks for messages, errors and admin listings.',
    cards: [
      { name: 'message', title: 'Message', description: 'A title and text, e.g. after a wizard is cancelled.' },
      { name: 'error', title: 'Error with retry', description: 'What failed and why, with a Retry button that repeats the original command.' },
      { name: 'error_no_retry', title: 'Error without retry', description: 'An error retrying cannot fix, such as a missing permission.' },
      { name: 'table', title: 'Table', description: 'Admin listings such as connected organizations, with a header row and paging.' },
      { name: 'table_empty', title: 'Empty table', description: 'An admin listing with nothing to show.' },
    ],
  },
  {
    title: 'Hostile input',
    intro: 'Golden cards built from strings full of markdown, mentions, JSON, bidi overrides, emoji and over-long text. Everything shows literally and clipped; nothing becomes a link, a mention or a new element.',
    cards: [
      { name: 'injection_approval_pending', title: 'Approval card with hostile input', description: 'The approval card with hostile names, organisation, reason and answers.' },
      { name: 'injection_wizard_review', title: 'Wizard review with hostile input', description: 'The review step with a hostile scenario name, description and domains.' },
    ],
  },
];
