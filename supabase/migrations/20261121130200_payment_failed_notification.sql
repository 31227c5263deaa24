-- invoice.payment_failed tells the user (the Stripe webhook writes the row). None of the seed's six
-- notification types fits a failed payment, so the type check of issue 3's notifications table is
-- extended with 'payment_failed'; anyone who extends the check later must keep it.
alter table public.notifications drop constraint if exists notifications_type_check;
alter table public.notifications add constraint notifications_type_check check (type in (
  'new_application', 'application_status', 'new_message', 'call_scheduled', 'review_received', 'gig_update',
  'payment_failed'
));
